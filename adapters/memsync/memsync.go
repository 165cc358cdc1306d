// Package memsync is the in-process adapter: Syncs in one process that share
// a Bus (or a mem://NAME URI) and a key see each other's events. It is
// lossless and ordered, which makes it the adapter for unit tests and for
// running several replicas of an app in one process.
//
// Importing it registers the scheme "mem": mem://NAME selects a bus by name,
// shared by the whole process (the one piece of global state, as with a
// database/sql driver registry).
package memsync

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"sync"

	"github.com/eventsync/eventsync"
)

func init() { eventsync.Register("mem", openURL) }

// QueueSize is how many messages each subscriber queues, besides the batch it
// is delivering, before Publish waits.
const QueueSize = 8192

// Bus is an in-process broker. The zero value is ready to use.
type Bus struct {
	mu     sync.Mutex
	topics map[string]*topic
}

var named = struct {
	sync.Mutex
	buses map[string]*Bus
}{buses: make(map[string]*Bus)}

// Named returns the process-wide bus of that name, the one mem://NAME uses.
func Named(name string) *Bus {
	named.Lock()
	defer named.Unlock()
	b := named.buses[name]
	if b == nil {
		b = &Bus{}
		named.buses[name] = b
	}
	return b
}

func openURL(_ context.Context, u *url.URL, key string) (eventsync.Adapter, error) {
	if err := eventsync.CheckQuery(u); err != nil {
		return nil, err
	}
	name := u.Host + u.Path
	if u.Opaque != "" {
		name = u.Opaque
	}
	return New(Named(name), key), nil
}

type topic struct {
	mu      sync.RWMutex
	subs    map[*subscriber]struct{}
	servers map[string]*server // by address (requester.go)
}

// subscriber is one subscription's queue. Publishers append whole batches
// under mu and the subscriber's goroutine takes everything queued at once:
// a channel send and a select per message and subscriber cost more than the
// rest of the in-process path.
type subscriber struct {
	mu       sync.Mutex
	queue    [][]byte
	wake     chan struct{}     // one slot: messages were queued
	space    chan struct{}     // one slot: the queue was emptied
	done     chan struct{}     // closed when the subscriber stops
	finished chan struct{}     // closed when its goroutine has returned
	isEcho   func([]byte) bool // see Adapter.SetEchoFilter; nil: deliver everything
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// push queues as many of msgs as fit and returns how many.
func (s *subscriber) push(msgs [][]byte) int {
	s.mu.Lock()
	n := min(len(msgs), QueueSize-len(s.queue))
	s.queue = append(s.queue, msgs[:n]...)
	s.mu.Unlock()
	if n > 0 {
		notify(s.wake)
	}
	return n
}

// run delivers what is queued, in order, until done is closed.
func (s *subscriber) run(deliver func([]byte)) {
	defer close(s.finished)
	var batch [][]byte
	for {
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		notify(s.space)
		for i, msg := range batch {
			select {
			case <-s.done:
				return
			default:
			}
			batch[i] = nil
			if isEcho := s.isEcho; isEcho != nil && isEcho(msg) {
				continue // this replica's own: nothing to copy
			}
			// Each subscriber gets a copy, as from a broker: it owns what it
			// is handed (see eventsync.Adapter), and what it keeps of it (a
			// decoded record's strings may point into the message) must not
			// hold on to the publisher's memory, where the message shares a
			// 32 KiB chunk with others.
			deliver(bytes.Clone(msg))
		}
	}
}

func (b *Bus) topic(key string) *topic {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.topics == nil {
		b.topics = make(map[string]*topic)
	}
	t := b.topics[key]
	if t == nil {
		t = &topic{subs: make(map[*subscriber]struct{})}
		b.topics[key] = t
	}
	return t
}

// Adapter is one replica's connection to a Bus under one key.
type Adapter struct {
	topic  *topic
	mu     sync.Mutex
	sub    *subscriber
	closed bool
	isEcho func([]byte) bool // see SetEchoFilter
	stops  []func()          // of the addresses it serves
}

var (
	_ eventsync.Adapter      = (*Adapter)(nil)
	_ eventsync.EchoFilterer = (*Adapter)(nil)
)

// New returns an adapter on bus for key.
func New(bus *Bus, key string) *Adapter { return &Adapter{topic: bus.topic(key)} }

// SetEchoFilter implements eventsync.EchoFilterer: the subscription drops
// what isEcho reports as this replica's own before copying it.
func (a *Adapter) SetEchoFilter(isEcho func(msg []byte) bool) {
	a.mu.Lock()
	a.isEcho = isEcho
	a.mu.Unlock()
}

// SetRecovery implements eventsync.Recoverer: an in-process bus never
// loses a subscriber's connection, so there is nothing to keep.
func (a *Adapter) SetRecovery(eventsync.Recovery, string) error { return nil }

// Subscribe implements eventsync.Adapter. The subscription is live when it returns.
func (a *Adapter) Subscribe(_ context.Context, deliver func([]byte)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("memsync: subscribe: %w", eventsync.ErrClosed)
	}
	if a.sub != nil {
		return fmt.Errorf("memsync: subscribe: already subscribed")
	}
	s := &subscriber{wake: make(chan struct{}, 1), space: make(chan struct{}, 1),
		done: make(chan struct{}), finished: make(chan struct{}), isEcho: a.isEcho}
	a.sub = s
	a.topic.mu.Lock()
	a.topic.subs[s] = struct{}{}
	a.topic.mu.Unlock()
	go s.run(deliver)
	return nil
}

// Publish implements eventsync.Adapter. It hands each message to every
// subscriber, waiting (until ctx ends) while a subscriber's queue is full.
func (a *Adapter) Publish(ctx context.Context, msgs ...[]byte) error {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return fmt.Errorf("memsync: publish: %w", eventsync.ErrClosed)
	}
	a.topic.mu.RLock()
	defer a.topic.mu.RUnlock()
	for s := range a.topic.subs {
		for rest := msgs; len(rest) > 0; {
			n := s.push(rest)
			rest = rest[n:]
			if n > 0 {
				continue
			}
			select {
			case <-s.space:
			case <-s.done:
				rest = nil // gone: nothing more to hand it
			case <-ctx.Done():
				return fmt.Errorf("memsync: publish: %w", ctx.Err())
			}
		}
	}
	return nil
}

// Close implements eventsync.Adapter: published messages are already in the
// subscribers' queues, so it only stops this adapter's subscription.
func (a *Adapter) Close(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	for _, stop := range a.stops {
		stop()
	}
	if s := a.sub; s != nil {
		close(s.done)
		a.topic.mu.Lock()
		delete(a.topic.subs, s)
		a.topic.mu.Unlock()
		<-s.finished
	}
	return nil
}
