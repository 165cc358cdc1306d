package memsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/eventsync/eventsync"
)

var _ eventsync.Requester = (*Adapter)(nil)

// server is one address served on a topic.
type server struct {
	handle func(ctx context.Context, req []byte) []byte
	ctx    context.Context
	cancel context.CancelFunc
	calls  sync.WaitGroup
}

// Serve implements eventsync.Requester: requests to addr on this key reach
// handle, on a goroutine each.
func (a *Adapter) Serve(_ context.Context, addr string, handle func(ctx context.Context, req []byte) []byte) (stop func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, fmt.Errorf("memsync: serve: %w", eventsync.ErrClosed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{handle: handle, ctx: ctx, cancel: cancel}
	t := a.topic
	t.mu.Lock()
	if t.servers == nil {
		t.servers = make(map[string]*server)
	}
	if t.servers[addr] != nil {
		t.mu.Unlock()
		cancel()
		return nil, fmt.Errorf("memsync: serve: %q is already served", addr)
	}
	t.servers[addr] = s
	t.mu.Unlock()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			t.mu.Lock()
			if t.servers[addr] == s {
				delete(t.servers, addr)
			}
			t.mu.Unlock()
			cancel()
			s.calls.Wait()
		})
	}
	a.stops = append(a.stops, stop)
	return stop, nil
}

// Request implements eventsync.Requester.
func (a *Adapter) Request(ctx context.Context, addr string, req []byte) ([]byte, error) {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("memsync: request: %w", eventsync.ErrClosed)
	}
	t := a.topic
	t.mu.RLock()
	s := t.servers[addr]
	if s != nil {
		s.calls.Add(1) // under the lock: stop waits for it
	}
	t.mu.RUnlock()
	if s == nil {
		return nil, fmt.Errorf("memsync: request to %q: %w", addr, eventsync.ErrNoResponders)
	}
	reply := make(chan []byte, 1)
	go func() {
		defer s.calls.Done()
		reply <- bytes.Clone(s.handle(s.ctx, bytes.Clone(req)))
	}()
	select {
	case r := <-reply:
		return r, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("memsync: request to %q: %w", addr, ctx.Err())
	case <-s.ctx.Done():
		return nil, fmt.Errorf("memsync: request to %q: %w", addr, errors.Join(eventsync.ErrNoResponders, errors.New("the server stopped")))
	}
}
