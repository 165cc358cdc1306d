package eventsync

import (
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// App is a small Feathers-like application: services registered under paths,
// app-wide and per-service hooks, and per-service event listeners. It is the
// Emitter a Sync hooks onto.
//
// The zero App is not usable; call NewApp.
type App struct {
	mu          sync.RWMutex
	services    map[string]*Service
	hooks       Hooks
	logger      *slog.Logger
	interceptor func(ev *Event) bool
	appEvents   listeners
}

// NewApp returns an empty App that logs through slog.Default.
func NewApp() *App {
	return &App{services: make(map[string]*Service), logger: slog.Default()}
}

// SetLogger sets the logger for panicking listeners and hooks; nil restores slog.Default.
func (a *App) SetLogger(l *slog.Logger) {
	if l == nil {
		l = slog.Default()
	}
	a.mu.Lock()
	a.logger = l
	a.mu.Unlock()
}

func (a *App) log() *slog.Logger {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.logger
}

// Hooks adds app-wide hooks that run around every service call.
func (a *App) Hooks(h Hooks) {
	a.mu.Lock()
	a.hooks.add(h)
	a.mu.Unlock()
}

// Service returns the service registered under path, or nil.
func (a *App) Service(path string) *Service {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.services[trimPath(path)]
}

// Lookup returns the service registered under path, or an error wrapping ErrUnknownPath.
func (a *App) Lookup(path string) (*Service, error) {
	if s := a.Service(path); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownPath, path)
}

// Paths returns the registered service paths, sorted.
func (a *App) Paths() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	paths := make([]string, 0, len(a.services))
	for p := range a.services {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// On registers fn for an app-level event (not a service event). App-level
// events are never synced, as in feathers-sync.
func (a *App) On(event string, fn Listener) (off func()) { return a.appEvents.on(event, fn) }

// Emit emits an app-level event to the listeners registered with App.On. It is
// not published to other replicas.
func (a *App) Emit(event string, data any) {
	a.appEvents.emit(a.log(), Event{Name: event, Data: data})
}

// Intercept implements Emitter.
func (a *App) Intercept(fn func(ev *Event) bool) (remove func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.interceptor != nil {
		return nil, ErrAlreadyConfigured
	}
	a.interceptor = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			a.interceptor = nil
			a.mu.Unlock()
		})
	}, nil
}

// Dispatch implements Emitter: it delivers a synced event to the listeners of
// its service, with App and Service set in its HookContext.
func (a *App) Dispatch(ev Event) error {
	s, err := a.Lookup(ev.Path)
	if err != nil {
		return err
	}
	if !s.hasEvent(ev.Name) {
		return fmt.Errorf("%w: %q on %q", ErrUnknownEvent, ev.Name, ev.Path)
	}
	if ev.Context != nil {
		ev.Context.App, ev.Context.Service = a, s
	}
	s.events.emit(a.log(), ev)
	return nil
}

// DataType implements Emitter: standard events carry the service's record
// type, custom events the type they were declared with.
func (a *App) DataType(path, event string) (reflect.Type, error) {
	s, err := a.Lookup(path)
	if err != nil {
		return nil, err
	}
	t, ok := s.eventTypes[event]
	if !ok {
		return nil, fmt.Errorf("%w: %q on %q", ErrUnknownEvent, event, path)
	}
	return t, nil
}

// emit runs the interceptor, then the service's listeners unless the
// interceptor deferred delivery.
func (a *App) emit(s *Service, ev Event) {
	a.mu.RLock()
	intercept, log := a.interceptor, a.logger
	a.mu.RUnlock()
	if intercept == nil {
		ev.Sync = false // no Sync configured (or closed): nothing publishes it
	} else if intercept(&ev) {
		return
	}
	s.events.emit(log, ev)
}

func trimPath(p string) string { return strings.Trim(p, "/") }
