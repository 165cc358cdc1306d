package eventsync_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/memsync"
	"github.com/eventsync/eventsync/serializer"
)

// FuzzSyncIn feeds arbitrary bytes to the sync-in path of a Sync for each
// serializer: no panic, and a valid message afterwards still arrives.
func FuzzSyncIn(f *testing.F) {
	for _, ser := range []serializer.Serializer{serializer.JSON, serializer.MsgPack, serializer.BSON} {
		b, _ := ser.Encode(&serializer.Message{Event: "created", Path: "todos", Data: Todo{ID: 1, Title: "x"},
			Context: &serializer.Context{Method: "create", Path: "todos", Type: "after", ID: 1, Params: map[string]any{"query": map[string]any{}}}})
		f.Add(b, uint8(0))
		f.Add(b, uint8(1))
		f.Add(b, uint8(2))
	}
	f.Add([]byte(`{"event":"progress","path":"todos","data":{"percent":"NaN"},"context":null}`), uint8(0))
	var replicas []*replica
	for _, ser := range []serializer.Serializer{serializer.JSON, serializer.MsgPack, serializer.BSON} {
		replicas = append(replicas, newReplica(f, "fuzz-"+ser.Name(), eventsync.Options{Serializer: ser, RoundTrip: true}))
	}
	f.Fuzz(func(t *testing.T, msg []byte, which uint8) {
		replicas[which%3].sync.SyncIn(msg)
	})
}

// A flood of malformed messages keeps memory flat; each is counted, and a
// valid message after it still arrives.
func TestMalformedFloodKeepsMemoryFlat(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	bus := t.Name()
	b := newReplica(t, bus, eventsync.Options{})
	raw := memsync.New(memsync.Named(bus), eventsync.DefaultKey)
	defer raw.Close(context.Background())
	garbage := []byte(`{"event":"created","path":"todos","data":{"id":"not a number"},"context":{"x":[1,2,3]}}`)
	batch := make([][]byte, 1000)
	for i := range batch {
		batch[i] = garbage
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ctx := context.Background()
	for sent := 0; sent < n; sent += len(batch) {
		if err := raw.Publish(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	st := waitStats(t, b.sync, "every message counted", func(s eventsync.Stats) bool {
		return s.Malformed+s.InboxDropped == uint64(n)
	})
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d malformed messages: heap in use %d -> %d bytes (%+d); stats %+v", n, before.HeapInuse, after.HeapInuse, growth, st)
	if growth > 32<<20 {
		t.Fatalf("heap grew by %d bytes over the flood", growth)
	}
	mustCreateRemote(t, raw)
	if got := b.got.wait(t, 1); got[0].Data.(Todo).Title != "after the flood" {
		t.Fatalf("got %+v", got[0])
	}
}

func mustCreateRemote(t *testing.T, a eventsync.Adapter) {
	t.Helper()
	msg, _ := serializer.JSON.Encode(&serializer.Message{Event: "created", Path: "todos", Data: Todo{ID: 9, Title: "after the flood"}})
	if err := a.Publish(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// A batch that was sent but reported failed is retried; the receiver drops
// the repeats by origin and sequence number, so each event arrives once.
func TestRetriedBatchRepeatsDropped(t *testing.T) {
	bus := t.Name()
	f := &flaky{Adapter: memsync.New(memsync.Named(bus), eventsync.DefaultKey)}
	a := newReplica(t, bus, eventsync.Options{Adapter: f})
	b := newReplica(t, bus, eventsync.Options{})
	for i := range 50 {
		if err := a.svc.Emit(context.Background(), "progress", Progress{Percent: i}); err != nil {
			t.Fatal(err)
		}
	}
	got := b.got.wait(t, 50)
	st := waitStats(t, b.sync, "repeats counted", func(s eventsync.Stats) bool { return s.Received == 50+s.Duplicates && s.Duplicates > 0 })
	for i, ev := range b.got.snapshot() {
		if ev.Data.(Progress).Percent != i {
			t.Fatalf("event %d is %+v (repeat or out of order); stats %+v", i, ev.Data, st)
		}
	}
	if len(got) != 50 || a.sync.Stats().PublishFailures != 1 {
		t.Fatalf("got %d events; publisher %+v", len(got), a.sync.Stats())
	}
}

// rssBytes reads the resident set size from /proc (Linux).
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	var size, rss int64
	fmt.Sscan(string(b), &size, &rss)
	return rss * int64(os.Getpagesize())
}

// While the broker is dead and the app emits at full speed, memory stays
// bounded by the outbox: RSS after the outbox filled does not keep growing.
// EVENTSYNC_SOAK_SECONDS sets the duration (default 4; BENCHMARKS.md shows 60).
func TestMemoryBoundedWhileBrokerDead(t *testing.T) {
	seconds := 4
	if s, err := strconv.Atoi(os.Getenv("EVENTSYNC_SOAK_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	g := newGate(t.Name(), eventsync.DefaultKey) // never opened: the broker is dead
	app, svc := newApp(t)                        // no listeners: nothing but eventsync holds events
	s, err := eventsync.Configure(app, eventsync.Options{Adapter: g, OutboxSize: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.Close(cctx) // the broker stays dead: Close gives up at the deadline
	}()
	waitReady(t, s)
	ctx := context.Background()
	rec := Todo{ID: 1, Title: strings.Repeat("x", 200)}
	var samples []int64
	emitted := 0
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	next := time.Now()
	for time.Now().Before(deadline) {
		for range 1000 {
			if err := svc.Emit(ctx, "created", rec); err != nil {
				t.Fatal(err)
			}
		}
		emitted += 1000
		if time.Now().After(next) {
			// Collect and hand freed pages back first: under load (CI runs
			// the packages' tests in parallel) the scavenger lags, and RSS
			// would show a burst's garbage after it was freed.
			debug.FreeOSMemory()
			samples = append(samples, rssBytes(t))
			next = next.Add(time.Second)
		}
	}
	st := s.Stats()
	t.Logf("emitted %d events in %ds with the broker dead; RSS per second (MiB): %v; stats %+v", emitted, seconds, mib(samples), st)
	if st.QueueLength < 10_000 || st.QueueLength > 10_000+eventsync.DefaultMaxBatch ||
		st.Emitted != st.Dropped+uint64(st.QueueLength)+st.Published {
		t.Fatalf("outbox accounting: %+v", st)
	}
	half := samples[len(samples)/2]
	if last := samples[len(samples)-1]; last-half > 16<<20 {
		t.Fatalf("RSS grew from %d to %d bytes after the outbox was full", half, last)
	}
}

func mib(b []int64) []string {
	out := make([]string, len(b))
	for i, v := range b {
		out[i] = fmt.Sprintf("%.1f", float64(v)/(1<<20))
	}
	return out
}

// Large received batches decoded on several goroutines are still dispatched
// in order, with every counter right.
func TestParallelDecodeKeepsOrder(t *testing.T) {
	bus := t.Name()
	b := newReplica(t, bus, eventsync.Options{})
	b.sync.SetDecodeWorkers(4)
	raw := memsync.New(memsync.Named(bus), eventsync.DefaultKey)
	defer raw.Close(context.Background())
	const n = 5000
	msgs := make([][]byte, 0, n)
	for i := range n {
		var msg []byte
		if i%100 == 50 {
			msg = []byte("garbage") // malformed ones in the middle of batches
		} else {
			msg, _ = serializer.JSON.Encode(&serializer.Message{Event: "progress", Path: "todos", Data: Progress{Percent: i},
				Origin: "other", Seq: uint64(i + 1)})
		}
		msgs = append(msgs, msg)
	}
	if err := raw.Publish(context.Background(), msgs...); err != nil { // one burst: large batches
		t.Fatal(err)
	}
	want := n - n/100
	got := b.got.wait(t, want)
	prev := -1
	for _, ev := range got {
		p := ev.Data.(Progress).Percent
		if p <= prev {
			t.Fatalf("out of order: %d after %d", p, prev)
		}
		prev = p
	}
	st := waitStats(t, b.sync, "all counted", func(s eventsync.Stats) bool { return s.Dispatched == uint64(want) && s.Malformed == n/100 })
	if st.Missed != n/100 { // the malformed ones carried no sequence number: their numbers are gaps
		t.Fatalf("missed %d, want %d", st.Missed, n/100)
	}
}

// With a pipelining adapter whose connection keeps breaking, every batch
// lost is sent again before anything newer, so each event arrives once and
// in order, and the publisher's counters add up.
func TestPipelinedBatchesLostAreSentAgain(t *testing.T) {
	bus := t.Name()
	l := &lossy{Adapter: memsync.New(memsync.Named(bus), eventsync.DefaultKey)}
	a := newReplica(t, bus, eventsync.Options{Adapter: l, MaxBatch: 16})
	b := newReplica(t, bus, eventsync.Options{})
	const n = 1000
	for i := range n {
		if err := a.svc.Emit(context.Background(), "progress", Progress{Percent: i}); err != nil {
			t.Fatal(err)
		}
	}
	b.got.wait(t, n)
	for i, ev := range b.got.snapshot() {
		if ev.Data.(Progress).Percent != i {
			t.Fatalf("event %d is %+v (repeat, loss or out of order)", i, ev.Data)
		}
	}
	st := waitStats(t, a.sync, "all confirmed", func(s eventsync.Stats) bool { return s.Published == n && s.QueueLength == 0 })
	l.mu.Lock()
	breaks := l.breaks
	l.mu.Unlock()
	if breaks < 3 || st.PublishFailures < uint64(breaks) {
		t.Fatalf("%d breaks; publisher %+v", breaks, st)
	}
	if got := b.got.snapshot(); len(got) != n {
		t.Fatalf("got %d events, want %d", len(got), n)
	}
}

// A lone event lost in a break that no later Send reveals is found by the
// confirmation the publisher makes when nothing else comes (it waits a
// little while events keep coming, see pipelineLoop), and sent again.
func TestLoneLostBatchIsSentAgain(t *testing.T) {
	bus := t.Name()
	l := &lossy{Adapter: memsync.New(memsync.Named(bus), eventsync.DefaultKey), loseEvery: 1}
	a := newReplica(t, bus, eventsync.Options{Adapter: l})
	b := newReplica(t, bus, eventsync.Options{})
	if err := a.svc.Emit(context.Background(), "progress", Progress{Percent: 42}); err != nil {
		t.Fatal(err)
	}
	got := b.got.wait(t, 1)
	if p := got[0].Data.(Progress).Percent; p != 42 {
		t.Fatalf("got %+v", got[0].Data)
	}
	st := waitStats(t, a.sync, "published", func(s eventsync.Stats) bool { return s.Published == 1 && s.QueueLength == 0 })
	l.mu.Lock()
	confirms := l.confirms
	l.mu.Unlock()
	if st.PublishFailures == 0 || confirms == 0 {
		t.Fatalf("the break went unnoticed (%d confirmations): %+v", confirms, st)
	}
}
