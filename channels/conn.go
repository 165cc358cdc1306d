package channels

import (
	"maps"
	"slices"
	"sync"

	"github.com/eventsync/eventsync"
)

// Conn is one realtime connection of a hub: a transport reads Messages and
// stops when Done is closed.
type Conn struct {
	hub *Hub

	paramsMu sync.RWMutex
	params   eventsync.Params // as Feathers' connection object: the user, say

	queue    chan Message
	done     chan struct{}
	once     sync.Once
	channels map[string]bool // under hub.mu
}

// Connect adds a connection, in no channel but Everyone.
func (h *Hub) Connect(params eventsync.Params) *Conn {
	if params == nil {
		params = eventsync.Params{}
	}
	c := &Conn{hub: h, params: params, queue: make(chan Message, h.opts.QueueSize),
		done: make(chan struct{}), channels: make(map[string]bool)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		c.dropLocked()
		return c
	}
	h.conns[c] = struct{}{}
	return c
}

// Connections returns the live connections for which match is true, so
// that a later call (a login, say) can join its user's connections to
// channels: hub.Connections(func(c *Conn) bool { return c.Param("user") == id }).
func (h *Hub) Connections(match func(c *Conn) bool) []*Conn {
	h.mu.Lock()
	all := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		all = append(all, c)
	}
	h.mu.Unlock()
	return slices.DeleteFunc(all, func(c *Conn) bool { return !match(c) })
}

// Param returns one of the connection's params, as Feathers' connection
// object holds them: the user, once a login set it.
func (c *Conn) Param(key string) any {
	c.paramsMu.RLock()
	defer c.paramsMu.RUnlock()
	return c.params[key]
}

// SetParam sets one of the connection's params; the transports pass them to
// every later call of the connection (a login sets "user", say).
func (c *Conn) SetParam(key string, value any) {
	c.paramsMu.Lock()
	defer c.paramsMu.Unlock()
	c.params[key] = value
}

// Params returns a copy of the connection's params.
func (c *Conn) Params() eventsync.Params {
	c.paramsMu.RLock()
	defer c.paramsMu.RUnlock()
	return maps.Clone(c.params)
}

// Join adds c to channels.
func (c *Conn) Join(channels ...string) {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, live := h.conns[c]; !live {
		return
	}
	for _, name := range channels {
		if name == Everyone || c.channels[name] {
			continue
		}
		c.channels[name] = true
		set := h.channels[name]
		if set == nil {
			set = make(map[*Conn]struct{})
			h.channels[name] = set
		}
		set[c] = struct{}{}
	}
}

// Leave removes c from channels.
func (c *Conn) Leave(channels ...string) {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	c.leaveLocked(channels...)
}

func (c *Conn) leaveLocked(channels ...string) {
	h := c.hub
	for _, name := range channels {
		if !c.channels[name] {
			continue
		}
		delete(c.channels, name)
		if set := h.channels[name]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(h.channels, name)
			}
		}
	}
}

// Channels returns the channels c is in, sorted (Everyone not listed).
func (c *Conn) Channels() []string {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	out := make([]string, 0, len(c.channels))
	for name := range c.channels {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Messages returns the connection's queue.
func (c *Conn) Messages() <-chan Message { return c.queue }

// Done is closed when the connection is closed or dropped.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close removes the connection from the hub.
func (c *Conn) Close() {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	c.dropLocked()
}

// dropLocked removes c from the hub and closes Done. The caller holds
// hub.mu.
func (c *Conn) dropLocked() {
	c.once.Do(func() {
		c.leaveLocked(slices.Collect(maps.Keys(c.channels))...)
		delete(c.hub.conns, c)
		close(c.done)
	})
}

// offer queues msg without waiting; a full queue drops the connection. The
// caller holds hub.mu.
func (c *Conn) offer(msg Message) {
	select {
	case c.queue <- msg:
		c.hub.delivered.Add(1)
	default:
		c.hub.dropped.Add(1)
		c.hub.log.Warn("channels: connection dropped: it does not keep up", "queue", cap(c.queue))
		c.dropLocked()
	}
}

// Resume returns the messages after lastID that c would have received in
// the channels it is in now, and false if the hub no longer holds all of
// them (the connection fell behind: reload instead).
func (c *Conn) Resume(lastID uint64) ([]Message, bool) {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	oldest := uint64(1)
	if h.next > uint64(len(h.history)) {
		oldest = h.next - uint64(len(h.history))
	}
	if lastID+1 < oldest {
		return nil, false
	}
	var out []Message
	for id := lastID + 1; id < h.next; id++ {
		rec := h.history[int((id-1)%uint64(h.opts.History))]
		if slices.Contains(rec.channels, Everyone) || slices.ContainsFunc(rec.channels, func(n string) bool { return c.channels[n] }) {
			out = append(out, rec.msg)
		}
	}
	return out, true
}
