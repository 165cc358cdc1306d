package eventsync_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
)

// closeWithin runs Close(ctx with timeout) and fails the test if it has not
// returned by limit, a bound far above the timeout: Close honours its ctx.
func closeWithin(t *testing.T, s *eventsync.Sync, timeout, limit time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Close(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Close with a %v deadline still blocked after %v", timeout, limit)
		return nil
	}
}

// A slow listener with received events queued behind it: Close gives up at
// its deadline, says what it left undispatched and counts it; the listener
// finishes on its own and nothing more is dispatched (draining the whole
// inbox would take 4 s past a 100 ms deadline).
func TestCloseGivesUpOnSlowListener(t *testing.T) {
	bus := t.Name()
	a := newReplica(t, bus, eventsync.Options{})
	b := newReplica(t, bus, eventsync.Options{})
	release := make(chan struct{})
	var calls atomic.Int64
	b.svc.On("progress", func(eventsync.Event) {
		if calls.Add(1) == 1 {
			<-release
		}
	})
	for i := range 100 {
		if err := a.svc.Emit(context.Background(), "progress", Progress{Percent: i}); err != nil {
			t.Fatal(err)
		}
	}
	waitStats(t, b.sync, "100 received", func(s eventsync.Stats) bool { return s.Received == 100 })
	err := closeWithin(t, b.sync, 100*time.Millisecond, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "not dispatched") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v", err)
	}
	close(release)
	st := waitStats(t, b.sync, "the rest counted", func(s eventsync.Stats) bool { return s.InboxDropped == 99 })
	if st.Dispatched != 1 || calls.Load() != 1 {
		t.Fatalf("after Close gave up: %+v, listener called %d times", st, calls.Load())
	}
}

// A second Close, concurrent with one that is still flushing to a dead
// broker, returns at its own deadline.
func TestConcurrentCloseHonoursItsContext(t *testing.T) {
	bus := t.Name()
	g := newGate(bus, eventsync.DefaultKey)
	a := newReplica(t, bus, eventsync.Options{Adapter: g})
	mustCreate(t, a.svc, context.Background(), "stuck")
	firstCtx, cancelFirst := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- a.sync.Close(firstCtx) }()
	waitStats(t, a.sync, "the first Close under way", func(s eventsync.Stats) bool { return s.PublishFailures > 1 })
	err := closeWithin(t, a.sync, 200*time.Millisecond, 3*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "under way") {
		t.Fatalf("second Close: %v", err)
	}
	cancelFirst()
	if err := <-first; err == nil || !strings.Contains(err.Error(), "1 events not sent") {
		t.Fatalf("first Close: %v", err)
	}
	if err := a.sync.Close(context.Background()); err == nil || !strings.Contains(err.Error(), "1 events not sent") {
		t.Fatalf("a later Close returns the first one's result: %v", err)
	}
}

// hungSubscribe is a broker that accepts the connection and never answers,
// behind an adapter whose Subscribe does not watch its context.
type hungSubscribe struct {
	eventsync.Adapter
	release chan struct{}
}

func (h *hungSubscribe) Subscribe(context.Context, func([]byte)) error {
	<-h.release
	return errBrokerDown
}

// Close does not wait past its deadline for a Subscribe that does not
// return, and says so.
func TestCloseDoesNotWaitForHungSubscribe(t *testing.T) {
	h := &hungSubscribe{Adapter: newGate(t.Name(), eventsync.DefaultKey), release: make(chan struct{})}
	defer close(h.release)
	app, _ := newApp(t)
	s, err := eventsync.Configure(app, eventsync.Options{Adapter: h})
	if err != nil {
		t.Fatal(err)
	}
	err = closeWithin(t, s, 200*time.Millisecond, 3*time.Second)
	if err == nil || !strings.Contains(err.Error(), "subscribe did not return") {
		t.Fatalf("Close: %v", err)
	}
}
