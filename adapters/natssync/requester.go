package natssync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventsync/eventsync"
)

var _ eventsync.Requester = (*Adapter)(nil)

// subject is the NATS subject of requests to addr: "<key>.req.<addr>".
func (a *Adapter) subject(addr string) string { return a.key + ".req." + addr }

// Serve implements eventsync.Requester with a subscription on the
// address's subject; each request is handled on a goroutine of its own
// and answered with Respond.
func (a *Adapter) Serve(ctx context.Context, addr string, handle func(ctx context.Context, req []byte) []byte) (stop func(), err error) {
	a.mu.Lock()
	nc, err := a.conn(ctx)
	a.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("natssync: serve %q: %w", addr, err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	var (
		mu      sync.Mutex
		stopped bool
		calls   sync.WaitGroup
	)
	sub, err := nc.Subscribe(a.subject(addr), func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if stopped || m.Reply == "" {
			return
		}
		calls.Go(func() { _ = m.Respond(handle(sctx, m.Data)) })
	})
	if err == nil {
		err = flush(ctx, nc) // the server has the subscription
	}
	if err != nil {
		cancel()
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		return nil, fmt.Errorf("natssync: serve %q: %w", addr, err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			mu.Lock()
			stopped = true
			mu.Unlock()
			_ = sub.Unsubscribe()
			fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = nc.FlushWithContext(fctx) // the server knows: requests now get no responders
			fcancel()
			cancel()
			calls.Wait()
		})
	}
	a.mu.Lock()
	a.stops = append(a.stops, stop)
	a.mu.Unlock()
	return stop, nil
}

// Request implements eventsync.Requester with a NATS request: the server
// answers "no responders" at once when nobody subscribes to the address.
func (a *Adapter) Request(ctx context.Context, addr string, req []byte) ([]byte, error) {
	a.mu.Lock()
	nc, err := a.conn(ctx)
	a.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("natssync: request to %q: %w", addr, err)
	}
	m, err := nc.RequestWithContext(ctx, a.subject(addr), req)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("natssync: request to %q: %w", addr, eventsync.ErrNoResponders)
	case err != nil:
		return nil, fmt.Errorf("natssync: request to %q: %w", addr, err)
	}
	return m.Data, nil
}
