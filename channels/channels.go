// Package channels routes an App's service events to realtime connections,
// as Feathers' channels do: connections join and leave named channels at
// any time, and a publish function per service (or one for the app) picks
// the channels of each event. It is the one mechanism of every realtime
// transport: the server-sent events of package rest use it.
//
// There is no implicit default: with no publish function for an event's
// service nor for the app, nothing is sent, and the log says so once. Pass
// PublishAll to send every event to every connection.
//
// Dispatch never waits for a connection: each has a bounded queue, and a
// connection whose queue is full is dropped (and counted), so that a stalled
// client slows neither the App nor the other clients.
package channels

import (
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/eventsync/eventsync"
)

// Everyone is a channel every connection is in.
const Everyone = "*"

// PublishFunc returns the channels an event goes to.
type PublishFunc func(ev eventsync.Event) []string

// PublishAll sends every event to every connection.
func PublishAll(eventsync.Event) []string { return []string{Everyone} }

// Options configure a Hub. The zero value is usable.
type Options struct {
	// QueueSize bounds the messages waiting for one connection; default
	// 256. A connection whose queue is full is dropped.
	QueueSize int
	// History is how many messages the hub keeps for Resume; default 1,000.
	History int
	// Logger receives the hub's logs; default slog.Default().
	Logger *slog.Logger
}

// Message is one event for a connection, numbered by the hub.
type Message struct {
	ID    uint64          // increasing for the hub's life
	Name  string          // "<path> <event>", Feathers' socket event name: "todos created"
	Event eventsync.Event // the event itself
}

// Hub dispatches an App's service events to its connections.
type Hub struct {
	opts Options
	log  *slog.Logger
	off  func()

	mu        sync.Mutex
	conns     map[*Conn]struct{}
	channels  map[string]map[*Conn]struct{}
	publish   map[string]PublishFunc // by service path; "" for the app
	history   []record               // a ring of the last History messages
	next      uint64                 // the next message's ID
	closed    bool
	warned    atomic.Bool
	dropped   atomic.Uint64
	delivered atomic.Uint64
}

// record is a message as the history keeps it, with its channels.
type record struct {
	msg      Message
	channels []string
}

// New returns a hub for app's service events.
func New(app *eventsync.App, opts Options) *Hub {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 256
	}
	if opts.History <= 0 {
		opts.History = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Hub{opts: opts, log: opts.Logger, conns: make(map[*Conn]struct{}),
		channels: make(map[string]map[*Conn]struct{}), publish: make(map[string]PublishFunc), next: 1}
	h.off = app.OnServiceEvent(h.dispatch)
	return h
}

// Publish sets the publish function of the service at path, or of the app
// for path "" (used for services without one of their own).
func (h *Hub) Publish(path string, fn PublishFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.publish[path] = fn
}

// dispatch sends ev to the connections of the channels its publish function
// picks. It runs on the emitting goroutine (or the Sync's dispatcher) and
// never blocks on a connection.
func (h *Hub) dispatch(ev eventsync.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	fn := h.publish[ev.Path]
	if fn == nil {
		fn = h.publish[""]
	}
	if fn == nil {
		if h.warned.CompareAndSwap(false, true) {
			h.log.Warn("channels: no publish function for the app nor for the service: events are sent to no connection (Hub.Publish, channels.PublishAll)",
				"path", ev.Path, "event", ev.Name)
		}
		return
	}
	names := fn(ev)
	if len(names) == 0 {
		return
	}
	msg := Message{ID: h.next, Name: ev.Path + " " + ev.Name, Event: ev}
	h.next++
	h.remember(record{msg, slices.Clone(names)})
	for c := range h.targets(names) {
		c.offer(msg)
	}
}

// targets returns the connections in any of names. The caller holds h.mu.
func (h *Hub) targets(names []string) map[*Conn]struct{} {
	if slices.Contains(names, Everyone) {
		return h.conns
	}
	if len(names) == 1 {
		return h.channels[names[0]]
	}
	out := make(map[*Conn]struct{})
	for _, n := range names {
		maps.Copy(out, h.channels[n])
	}
	return out
}

// remember keeps rec in the ring. The caller holds h.mu.
func (h *Hub) remember(rec record) {
	if len(h.history) < h.opts.History {
		h.history = append(h.history, rec)
		return
	}
	h.history[int((rec.msg.ID-1)%uint64(h.opts.History))] = rec
}

// Close stops dispatching and drops every connection.
func (h *Hub) Close() {
	h.off()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.conns {
		c.dropLocked()
	}
}

// Stats are a hub's counters.
type Stats struct {
	Connections int    `json:"connections"`
	Delivered   uint64 `json:"delivered"` // messages queued for connections
	Dropped     uint64 `json:"dropped"`   // connections dropped because their queue was full
}

// Stats returns a snapshot of the counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	n := len(h.conns)
	h.mu.Unlock()
	return Stats{Connections: n, Delivered: h.delivered.Load(), Dropped: h.dropped.Load()}
}
