package eventsync_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/memsync"
)

// withheld is a Pipeliner whose broker delivers what is sent but whose
// confirmations never come back in time (as when a proxy withholds the
// replies to PUBLISH): the first Send waits until the test has queued its
// whole stream, so that batches are full; the first Confirm waits until
// MaxPipelined batches are out, then fails, and the Sync publishes every one
// of them again.
type withheld struct {
	eventsync.Adapter
	release chan struct{} // closed by the test: the first Send may go
	mu      sync.Mutex
	sends   int
	full    chan struct{} // closed once MaxPipelined batches are sent
	failed  bool
}

func (w *withheld) Send(ctx context.Context, msgs ...[]byte) error {
	<-w.release
	if err := w.Adapter.Publish(ctx, msgs...); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sends++; w.sends == eventsync.MaxPipelined {
		close(w.full)
	}
	return nil
}

func (w *withheld) Confirm(ctx context.Context) error {
	w.mu.Lock()
	first := !w.failed
	w.failed = true
	w.mu.Unlock()
	if !first {
		return nil
	}
	select {
	case <-w.full:
	case <-ctx.Done():
	}
	return errBrokerDown
}

// Everything a publisher can send again after a lost confirmation,
// MaxPipelined full batches, is recognised as a repeat by its receivers:
// each event is dispatched once, the repeats are counted, nothing is
// counted missed. With a window of 8,192 numbers, 23,000 of 32,000 re-sent
// events were dispatched a second time.
func TestResentBacklogDispatchedOnce(t *testing.T) {
	bus := t.Name()
	w := &withheld{Adapter: memsync.New(memsync.Named(bus), eventsync.DefaultKey),
		release: make(chan struct{}), full: make(chan struct{})}
	const n = 40_000
	a := newReplica(t, bus, eventsync.Options{Adapter: w, MaxBatch: 1024, OutboxSize: n})
	b := newReplica(t, bus, eventsync.Options{InboxSize: 4 * n})
	for i := range n {
		if err := a.svc.Emit(context.Background(), "progress", Progress{Percent: i}); err != nil {
			t.Fatal(err)
		}
	}
	close(w.release)
	st := waitStats(t, b.sync, "every event and the re-sent backlog", func(s eventsync.Stats) bool {
		return s.Dispatched+s.Missed >= n && s.Received == s.Dispatched+s.Duplicates
	})
	if st.Dispatched != n || st.Missed != 0 || st.Duplicates < 16*1024 || st.InboxDropped != 0 {
		t.Fatalf("receiver: %+v; publisher: %+v", st, a.sync.Stats())
	}
	for i, ev := range b.got.snapshot() {
		if ev.Data.(Progress).Percent != i {
			t.Fatalf("event %d is %+v: dispatched twice or out of order", i, ev.Data)
		}
	}
}

// A replica restarted under the same ReplicaID (a pod name) numbers from 1
// again: its events are new to the receivers, not repeats of its previous
// run's.
func TestRestartedReplicaKeepsItsID(t *testing.T) {
	bus := t.Name()
	b := newReplica(t, bus, eventsync.Options{})
	first := newReplica(t, bus, eventsync.Options{ReplicaID: "pod-0"})
	for range 5 {
		mustCreate(t, first.svc, context.Background(), "first run")
	}
	b.got.wait(t, 5)
	if err := first.sync.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := newReplica(t, bus, eventsync.Options{ReplicaID: "pod-0"})
	for range 3 {
		mustCreate(t, second.svc, context.Background(), "second run")
	}
	got := b.got.wait(t, 8)
	st := waitStats(t, b.sync, "8 dispatched", func(s eventsync.Stats) bool { return s.Dispatched == 8 })
	if st.Duplicates != 0 || st.Missed != 0 || got[7].Data.(Todo).Title != "second run" {
		t.Fatalf("receiver: %+v", st)
	}
}

// An event that cannot be encoded, or is too large, uses up no sequence
// number: the receivers count nothing missed for it.
func TestUnsentEventsLeaveNoGap(t *testing.T) {
	bus := t.Name()
	a := newAnyReplica(t, bus, eventsync.Options{MaxMessageBytes: 4096})
	b := newAnyReplica(t, bus, eventsync.Options{MaxMessageBytes: 4096})
	ctx := context.Background()
	for _, data := range []any{
		map[string]any{"n": 1.0},
		map[string]any{"n": math.NaN()},                // cannot encode
		map[string]any{"s": strings.Repeat("x", 5000)}, // too large
		map[string]any{"n": 2.0},
	} {
		if _, err := a.svc.Create(ctx, data, nil); err != nil {
			t.Fatal(err)
		}
	}
	st := waitStats(t, b.sync, "2 dispatched", func(s eventsync.Stats) bool { return s.Dispatched == 2 })
	pub := waitStats(t, a.sync, "2 published", func(s eventsync.Stats) bool { return s.Published == 2 })
	if st.Missed != 0 || pub.Emitted != 2 || pub.EncodeErrors != 1 || pub.Oversized != 1 {
		t.Fatalf("receiver %+v; publisher %+v", st, pub)
	}
}

// newAnyReplica is a replica whose "things" service takes and returns any data.
func newAnyReplica(t *testing.T, bus string, opts eventsync.Options) *replica {
	t.Helper()
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "things", anyService{})
	if err != nil {
		t.Fatal(err)
	}
	opts.URI = "mem://" + bus
	s, err := eventsync.Configure(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	waitReady(t, s)
	r := &replica{app: app, svc: svc, sync: s, got: newRecorder()}
	svc.On("created", r.got.add)
	return r
}
