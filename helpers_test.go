package eventsync_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/memsync"
	"github.com/eventsync/eventsync/internal/synctest"
)

// Todo is the record type of the test service.
type Todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

// TodoService is a small in-memory service implementing every method.
type TodoService struct {
	mu    sync.Mutex
	next  int
	items map[int]Todo
}

func (s *TodoService) Find(ctx context.Context, p eventsync.Params) ([]Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Todo, 0, len(s.items))
	for _, t := range s.items {
		out = append(out, t)
	}
	return out, nil
}

func (s *TodoService) Get(ctx context.Context, id int, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.items[id]
	if !ok {
		return Todo{}, fmt.Errorf("todo %d not found", id)
	}
	return t, nil
}

func (s *TodoService) Create(ctx context.Context, t Todo, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.items == nil {
		s.items = make(map[int]Todo)
	}
	s.next++
	t.ID = s.next
	s.items[t.ID] = t
	return t, nil
}

func (s *TodoService) Update(ctx context.Context, id int, t Todo, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ID = id
	s.items[id] = t
	return t, nil
}

func (s *TodoService) Patch(ctx context.Context, id int, patch map[string]any, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.items[id]
	if title, ok := patch["title"].(string); ok {
		t.Title = title
	}
	if done, ok := patch["done"].(bool); ok {
		t.Done = done
	}
	s.items[id] = t
	return t, nil
}

func (s *TodoService) Remove(ctx context.Context, id int, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.items[id]
	if !ok {
		return Todo{}, fmt.Errorf("todo %d not found", id)
	}
	delete(s.items, id)
	return t, nil
}

// Progress is the data type of the custom "progress" event.
type Progress struct {
	Percent int `json:"percent"`
}

// replica is one app with a Sync on a mem bus.
type replica struct {
	app  *eventsync.App
	svc  *eventsync.Service
	sync *eventsync.Sync
	got  *recorder
}

func newApp(t testing.TB) (*eventsync.App, *eventsync.Service) {
	t.Helper()
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "todos", &TodoService{}, eventsync.CustomEvent[Progress]("progress"))
	if err != nil {
		t.Fatal(err)
	}
	return app, svc
}

func newReplica(t testing.TB, bus string, opts eventsync.Options) *replica {
	t.Helper()
	app, svc := newApp(t)
	if opts.URI == "" && opts.Adapter == nil {
		opts.URI = "mem://" + bus
	}
	s, err := eventsync.Configure(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	waitReady(t, s)
	r := &replica{app: app, svc: svc, sync: s, got: newRecorder()}
	for _, ev := range []string{"created", "updated", "patched", "removed", "progress"} {
		svc.On(ev, r.got.add)
	}
	return r
}

func waitReady(t testing.TB, s *eventsync.Sync) {
	t.Helper()
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatalf("sync not ready: %v", s.Err())
	}
}

// recorder is synctest.Recorder with the short names these tests use.
type recorder struct{ *synctest.Recorder }

func newRecorder() *recorder                    { return &recorder{synctest.NewRecorder()} }
func (r *recorder) add(ev eventsync.Event)      { r.Add(ev) }
func (r *recorder) snapshot() []eventsync.Event { return r.Events() }
func (r *recorder) wait(t testing.TB, n int) []eventsync.Event {
	t.Helper()
	return r.WaitN(t, n, 10*time.Second)
}

// waitStats waits until the Sync's counters satisfy cond.
func waitStats(t testing.TB, s *eventsync.Sync, what string, cond func(eventsync.Stats) bool) eventsync.Stats {
	t.Helper()
	return synctest.WaitStats(t, s, 10*time.Second, what, cond)
}

// gate wraps an adapter and fails Publish while closed: a broker outage the
// test controls. Subscribe and delivery pass through to the real adapter.
type gate struct {
	eventsync.Adapter
	open  atomic.Bool
	calls atomic.Int64
}

var errBrokerDown = errors.New("test: broker down")

func (g *gate) Publish(ctx context.Context, msgs ...[]byte) error {
	g.calls.Add(1)
	if !g.open.Load() {
		return errBrokerDown
	}
	return g.Adapter.Publish(ctx, msgs...)
}

func newGate(bus, key string) *gate {
	return &gate{Adapter: memsync.New(memsync.Named(bus), key)}
}

// flaky wraps an adapter whose Publish sends the batch and then reports a
// failure the first time: a batch that went out but was not acknowledged.
type flaky struct {
	eventsync.Adapter
	failed atomic.Bool
}

func (f *flaky) Publish(ctx context.Context, msgs ...[]byte) error {
	if err := f.Adapter.Publish(ctx, msgs...); err != nil {
		return err
	}
	if f.failed.CompareAndSwap(false, true) {
		return errBrokerDown
	}
	return nil
}

// lossy is a Pipeliner over an adapter whose connection breaks on every
// seventh Send (or every loseEvery-th): that batch is lost without an
// error, as bytes in a dying socket are; Send and Confirm then fail, and
// keep failing after the reconnection until a Publish succeeds (the
// Pipeliner rule). The reconnection comes with the first Publish.
type lossy struct {
	eventsync.Adapter
	loseEvery int // 0: 7
	mu        sync.Mutex
	sends     int
	broken    bool // lost since the last confirmation: Send and Confirm fail
	breaks    int
	confirms  int
}

func (l *lossy) Send(ctx context.Context, msgs ...[]byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken {
		return errBrokerDown
	}
	every := l.loseEvery
	if every == 0 {
		every = 7
	}
	if l.sends++; l.sends%every == 0 {
		l.broken, l.breaks = true, l.breaks+1
		return nil
	}
	return l.Adapter.Publish(ctx, msgs...)
}

func (l *lossy) Confirm(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.confirms++
	if l.broken {
		return errBrokerDown
	}
	return nil
}

func (l *lossy) Publish(ctx context.Context, msgs ...[]byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.broken = false
	return l.Adapter.Publish(ctx, msgs...)
}
