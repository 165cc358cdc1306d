package eventsync

import (
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// App is a small Feathers-like application: services registered under paths,
// app-wide and per-service hooks, and per-service event listeners. It is the
// Emitter a Sync hooks onto.
//
// The zero App is not usable; call NewApp.
type App struct {
	mu            sync.Mutex // serializes changes to state
	state         atomic.Pointer[appState]
	appEvents     listeners
	serviceEvents listeners // OnServiceEvent's, under the key ""
}

// appState is what an App's calls and events read. It is replaced, never
// changed, so that reading it takes no lock: a read lock shared by the
// emitting goroutines and the Sync's dispatcher cost more than the map
// lookups it guarded.
type appState struct {
	services    map[string]*Service
	hooks       Hooks
	logger      *slog.Logger
	interceptor func(ev *Event) bool
}

// NewApp returns an empty App that logs through slog.Default.
func NewApp() *App {
	a := &App{}
	a.state.Store(&appState{services: map[string]*Service{}, logger: slog.Default()})
	return a
}

// change replaces the state with a copy that fn edited; fn must copy what it
// changes inside maps and slices.
func (a *App) change(fn func(st *appState) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	next := *a.state.Load()
	if err := fn(&next); err != nil {
		return err
	}
	a.state.Store(&next)
	return nil
}

// SetLogger sets the logger for panicking listeners and hooks; nil restores slog.Default.
func (a *App) SetLogger(l *slog.Logger) {
	if l == nil {
		l = slog.Default()
	}
	_ = a.change(func(st *appState) error { st.logger = l; return nil })
}

func (a *App) log() *slog.Logger { return a.state.Load().logger }

// Hooks adds app-wide hooks that run around every service call.
func (a *App) Hooks(h Hooks) {
	_ = a.change(func(st *appState) error { st.hooks = st.hooks.with(h); return nil })
}

// Service returns the service registered under path, or nil.
func (a *App) Service(path string) *Service {
	return a.state.Load().services[trimPath(path)]
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
	return slices.Sorted(maps.Keys(a.state.Load().services))
}

// On registers fn for an app-level event (not a service event). App-level
// events are never synced, as in feathers-sync.
func (a *App) On(event string, fn Listener) (off func()) { return a.appEvents.on(event, fn) }

// OnServiceEvent registers fn for every service event of every service,
// local or synced, standard or custom, after the service's own listeners:
// what a realtime transport (package channels) forwards to its clients.
func (a *App) OnServiceEvent(fn Listener) (off func()) { return a.serviceEvents.on("", fn) }

// Emit emits an app-level event to the listeners registered with App.On. It is
// not published to other replicas.
func (a *App) Emit(event string, data any) {
	a.appEvents.emit(a.log(), Event{Name: event, Data: data})
}

// Intercept implements Emitter.
func (a *App) Intercept(fn func(ev *Event) bool) (remove func(), err error) {
	err = a.change(func(st *appState) error {
		if st.interceptor != nil {
			return ErrAlreadyConfigured
		}
		st.interceptor = fn
		return nil
	})
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = a.change(func(st *appState) error { st.interceptor = nil; return nil })
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
	log := a.log()
	s.events.emit(log, ev)
	a.serviceEvents.emitAs(log, "", ev)
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
	st := a.state.Load()
	intercept, log := st.interceptor, st.logger
	if intercept == nil {
		ev.Sync = false // no Sync configured (or closed): nothing publishes it
	} else {
		// The interceptor gets a pooled copy: &ev passed to a func value
		// would move every event to the heap.
		p := interceptedEvents.Get().(*Event)
		*p = ev
		deferred := intercept(p)
		ev, *p = *p, Event{}
		interceptedEvents.Put(p)
		if deferred {
			return
		}
	}
	s.events.emit(log, ev)
	a.serviceEvents.emitAs(log, "", ev)
}

var interceptedEvents = sync.Pool{New: func() any { return new(Event) }}

func trimPath(p string) string { return strings.Trim(p, "/") }
