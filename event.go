package eventsync

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Standard service event names, emitted after a successful call.
const (
	EventCreated = "created"
	EventUpdated = "updated"
	EventPatched = "patched"
	EventRemoved = "removed"
)

// StandardEvents are the events every service emits, in Feathers' order.
var standardEvents = [...]string{EventCreated, EventUpdated, EventPatched, EventRemoved}

func isStandardEvent(name string) bool {
	for _, e := range standardEvents {
		if e == name {
			return true
		}
	}
	return false
}

// Event is one service event as listeners see it.
type Event struct {
	Name string // "created", "updated", "patched", "removed" or a custom event
	Path string // the service's path
	// Data is the event's data: the call's result for standard events. It has
	// the same Go type on every replica: the service's record type for standard
	// events, the declared type for custom ones.
	Data any
	// Context is the call's hook context; nil for custom events. On synced events
	// it carries App and Service of this replica and what the origin exported.
	Context *HookContext
	// Sync reports whether the event is (or was) published to other replicas.
	Sync bool
	// Origin is the ID of the replica that emitted the event; empty when no Sync
	// is configured or when a feathers-sync (Node) replica sent it.
	Origin string
	// Remote is true when the event came from another replica through the broker.
	Remote bool
}

// Listener receives events. Listeners run synchronously on the emitting
// goroutine (for local events) or on the Sync's dispatch goroutine (for synced
// ones), so a slow listener delays the ones after it: hand long work off.
type Listener func(Event)

// listeners is a copy-on-write set of listeners per event name: emitting
// reads a snapshot without a lock, On and off replace it.
type listeners struct {
	mu     sync.Mutex // serializes changes
	byName atomic.Pointer[map[string][]*listenerEntry]
}

type listenerEntry struct{ fn Listener }

// change replaces the list for name with fn(old list); fn must not modify it.
func (l *listeners) change(name string, fn func([]*listenerEntry) []*listenerEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := map[string][]*listenerEntry{}
	if cur := l.byName.Load(); cur != nil {
		next = maps.Clone(*cur)
	}
	next[name] = fn(next[name])
	l.byName.Store(&next)
}

func (l *listeners) on(name string, fn Listener) (off func()) {
	e := &listenerEntry{fn: fn}
	l.change(name, func(old []*listenerEntry) []*listenerEntry { return append(slices.Clip(old), e) })
	var once sync.Once
	return func() {
		once.Do(func() {
			l.change(name, func(old []*listenerEntry) []*listenerEntry {
				return slices.DeleteFunc(slices.Clone(old), func(c *listenerEntry) bool { return c == e })
			})
		})
	}
}

// emit calls every listener of ev.Name, recovering and logging panics so that
// one bad listener breaks neither the caller nor the other listeners.
func (l *listeners) emit(log *slog.Logger, ev Event) { l.emitAs(log, ev.Name, ev) }

// emitAs calls the listeners registered under name with ev.
func (l *listeners) emitAs(log *slog.Logger, name string, ev Event) {
	m := l.byName.Load()
	if m == nil {
		return
	}
	for _, e := range (*m)[name] {
		callListener(log, e.fn, ev)
	}
}

func callListener(log *slog.Logger, fn Listener, ev Event) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("eventsync: listener panicked", "path", ev.Path, "event", ev.Name, "panic", fmt.Sprint(r))
		}
	}()
	fn(ev)
}

// OnData registers fn for event on s with the event's data as T, the
// service's record type (or the custom event's declared type), so that
// listeners need no type assertion:
//
//	eventsync.OnData(todos, "created", func(t Todo, e eventsync.Event) { ... })
//
// Data of another type (possible only with an Emitter other than App) is not
// passed to fn; it is logged.
func OnData[T any](s *Service, event string, fn func(data T, e Event)) (off func()) {
	return s.On(event, func(e Event) {
		data, ok := e.Data.(T)
		if !ok && e.Data != nil {
			s.app.log().Error("eventsync: event data of an unexpected type", "path", e.Path, "event", e.Name,
				"want", fmt.Sprintf("%T", *new(T)), "got", fmt.Sprintf("%T", e.Data))
			return
		}
		fn(data, e)
	})
}
