// Package synctest builds replicas for the adapters' Sync-level tests and
// benchmarks: an App with a "todos" service and a "seq" custom event, a Sync
// on a URI, and a recorder to wait on.
package synctest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/cputime"
	"github.com/eventsync/eventsync/internal/inflight"
	"github.com/eventsync/eventsync/serializer"
)

// Todo is the record type of the "todos" service.
type Todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

// Record returns a Todo of about 256 bytes once encoded as an event.
func Record(id int) Todo { return Todo{ID: id, Title: strings.Repeat("x", 200), Done: true} }

// Seq is the data of the "seq" custom event: a sequence number.
type Seq struct {
	N int `json:"n"`
}

// Todos is a minimal service: Create echoes its input.
type Todos struct{}

// Create returns t.
func (Todos) Create(_ context.Context, t Todo, _ eventsync.Params) (Todo, error) { return t, nil }

// Replica is one App with a Sync.
type Replica struct {
	App  *eventsync.App
	Svc  *eventsync.Service
	Sync *eventsync.Sync
	Got  *Recorder
}

// NewReplica configures a replica, waits until it is Ready and closes it at
// the end of the test.
func NewReplica(t testing.TB, opts eventsync.Options) *Replica {
	t.Helper()
	r := Configure(t, opts)
	select {
	case <-r.Sync.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("replica not ready: %v", r.Sync.Err())
	}
	return r
}

// Configure configures a replica without waiting for it to be Ready, and
// closes it at the end of the test. Unless opts says otherwise it sends no
// tail announcements (TailEvent), which count as messages: the tests that
// count messages exactly may wait longer than TailInterval.
func Configure(t testing.TB, opts eventsync.Options) *Replica {
	t.Helper()
	if opts.TailInterval == 0 {
		opts.TailInterval = -1
	}
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "todos", Todos{}, eventsync.CustomEvent[Seq]("seq"))
	if err != nil {
		t.Fatal(err)
	}
	r := &Replica{App: app, Svc: svc, Got: NewRecorder()}
	// Before Configure: a durable replica's catch-up is dispatched as soon
	// as it subscribes. "created" is left to benchmarks, unrecorded.
	svc.On("seq", r.Got.Add)
	s, err := eventsync.Configure(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.Sync = s
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return r
}

// EmitSeq emits seq events from..to-1.
func (r *Replica) EmitSeq(t testing.TB, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := r.Svc.Emit(context.Background(), "seq", Seq{N: i}); err != nil {
			t.Fatal(err)
		}
	}
}

// Recorder collects events.
type Recorder struct {
	mu     sync.Mutex
	events []eventsync.Event
	notify chan struct{}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{notify: make(chan struct{}, 1)} }

// Add records ev; it is a Listener.
func (r *Recorder) Add(ev eventsync.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Events returns what was recorded so far.
func (r *Recorder) Events() []eventsync.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]eventsync.Event(nil), r.events...)
}

// Wait returns the events once cond holds for them, or fails at the deadline.
func (r *Recorder) Wait(t testing.TB, timeout time.Duration, what string, cond func([]eventsync.Event) bool) []eventsync.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		evs := r.Events()
		if cond(evs) {
			return evs
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s: %d events", timeout, what, len(evs))
		}
	}
}

// WaitN waits for at least n events.
func (r *Recorder) WaitN(t testing.TB, n int, timeout time.Duration) []eventsync.Event {
	t.Helper()
	return r.Wait(t, timeout, "events", func(evs []eventsync.Event) bool { return len(evs) >= n })
}

// Stream emits seq events 0..n-1 on a new replica on pubURI, whose outbox
// holds them all, and waits until a new replica on subURI has them all, in
// order.
func Stream(t testing.TB, pubURI, subURI, key string, n int, timeout time.Duration) (pub, sub *Replica) {
	t.Helper()
	pub = NewReplica(t, eventsync.Options{URI: pubURI, Key: key, OutboxSize: n})
	sub = NewReplica(t, eventsync.Options{URI: subURI, Key: key})
	pub.EmitSeq(t, 0, n)
	sub.Got.WaitSeq(t, n, timeout)
	return pub, sub
}

// WaitSeq waits for n seq events and fails unless they are 0..n-1, in
// order, with none before or between them.
func (r *Recorder) WaitSeq(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	for i, k := range SeqNumbers(r.WaitN(t, n, timeout)) {
		if k != i {
			t.Fatalf("event %d is %d", i, k)
		}
	}
}

// SeqNumbers returns the N of every seq event recorded, in order.
func SeqNumbers(evs []eventsync.Event) []int {
	out := make([]int, 0, len(evs))
	for _, ev := range evs {
		if s, ok := ev.Data.(Seq); ok {
			out = append(out, s.N)
		}
	}
	return out
}

// WaitStats polls the Sync's counters until cond holds; counters change on
// other goroutines and have no channel to wait on.
func WaitStats(t testing.TB, s *eventsync.Sync, timeout time.Duration, what string, cond func(eventsync.Stats) bool) eventsync.Stats {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := s.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; stats %+v", timeout, what, st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchEndToEnd measures events per second from emitters goroutines calling
// Emit("created", Record) on one replica to a listener on a second replica
// with its own connection, and reports it as the events/s metric. It fails
// if any event was lost.
func BenchEndToEnd(b *testing.B, opts eventsync.Options, emitters int) {
	opts.OutboxSize = max(opts.OutboxSize, b.N) // measure throughput, not the overflow policy
	opts.InboxSize = max(opts.InboxSize, b.N)   // likewise: no drops at the receiver
	pub := NewReplica(b, opts)
	sub := NewReplica(b, opts)
	w := inflight.New(BenchWindow)
	done := make(chan struct{})
	target := uint64(b.N)
	sub.Svc.On("created", func(eventsync.Event) {
		if w.Arrived() == target {
			close(done)
		}
	})
	rec := Record(1)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), Meter()
	arrived := sendAll(w, done, b.N, emitters, func(n int) {
		for n > 0 {
			k := min(n, 256)
			w.Admit(k)
			for range k {
				_ = pub.Svc.Emit(ctx, "created", rec)
			}
			n -= k
		}
	})
	if !arrived {
		b.Fatalf("lost events: %d of %d arrived; pub %+v; sub %+v", w.Got(), b.N, pub.Sync.Stats(), sub.Sync.Stats())
	}
	ReportRate(b, start, cpu)
	b.StopTimer()
}

// BenchWindow is how many events the end-to-end benchmarks let be in flight
// (emitted and not yet received): see package inflight. BenchRaw holds the
// bare clients to it too.
const BenchWindow = 50_000

// sendAll runs send on p goroutines (see Spread) and waits until done is
// closed or nothing has arrived for a minute. It reports whether done was
// closed; if not, it stops w first, so that senders waiting for events that
// will not arrive return.
func sendAll(w *inflight.Window, done <-chan struct{}, n, p int, send func(share int)) bool {
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		Spread(n, p, send)
	}()
	defer func() { <-sent }()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for last := w.Got(); ; {
		select {
		case <-done:
			return true
		case <-tick.C:
			if got := w.Got(); got != last {
				last = got
				continue
			}
			w.Stop()
			return false
		}
	}
}

// Spread runs fn on p goroutines, giving each its share of n, and waits.
func Spread(n, p int, fn func(share int)) {
	var wg sync.WaitGroup
	for i := range p {
		share := n / p
		if i == 0 {
			share += n % p
		}
		wg.Go(func() { fn(share) })
	}
	wg.Wait()
}

// BenchRaw measures a bare client for comparison with BenchEndToEnd:
// publishers goroutines send msg with publish (batch of up to 512 each call),
// and a subscription started by subscribe counts arrivals; it reports events/s.
// The publishers are held to the same window of events in flight as
// BenchEndToEnd's emitters: a publish that returns once the broker has the
// batch does not wait for the subscriber, and on a slow machine bare
// go-redis ran so far ahead that Redis closed its subscriber at the 32 MB
// output buffer limit (600,000 of 1,000,000 arrived).
// subscribers > 1 adds subscriptions that only read, as the publishing
// replica's own does on brokers that send a publisher its own messages.
func BenchRaw(b *testing.B, publishers, subscribers int, msg []byte,
	subscribe func(onMessage func()) (stop func()),
	publish func(ctx context.Context, batch [][]byte) error) {
	w := inflight.New(BenchWindow)
	done := make(chan struct{})
	target := uint64(b.N)
	stop := subscribe(func() {
		if w.Arrived() == target {
			close(done)
		}
	})
	defer stop()
	for range subscribers - 1 {
		defer subscribe(func() {})()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	batch := make([][]byte, 512)
	for i := range batch {
		batch[i] = msg
	}
	b.ResetTimer()
	start, cpu := time.Now(), Meter()
	arrived := sendAll(w, done, b.N, publishers, func(n int) {
		for n > 0 {
			k := min(n, len(batch))
			w.Admit(k)
			if err := publish(ctx, batch[:k]); err != nil {
				b.Error(err)
				return
			}
			n -= k
		}
	})
	if !arrived {
		b.Fatalf("raw: %d of %d arrived", w.Got(), b.N)
	}
	ReportRate(b, start, cpu)
}

// Meter returns the process's CPU time so far, for ReportRate.
func Meter() time.Duration {
	cpu, _ := cputime.Process()
	return cpu
}

// ReportRate reports events/s since start and, where the platform tells,
// the CPU time (user and system) the process spent per event since the
// Meter reading cpu: on a machine where the broker and the benchmark share
// the cores, that is what decides the rate, and it does not drift with the
// machine's load as the rate does. The broker's own CPU is not in it.
func ReportRate(b *testing.B, start time.Time, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if now, ok := cputime.Process(); ok {
		b.ReportMetric(float64(now-cpu)/float64(b.N), "cpu-ns/event")
	}
}

// WireMessage is a JSON message of the size BenchEndToEnd sends, for BenchRaw.
func WireMessage(b *testing.B) []byte {
	msg, err := serializer.JSON.Encode(&serializer.Message{Event: "created", Path: "todos", Data: Record(1), Origin: "0123456789abcdef"})
	if err != nil {
		b.Fatal(err)
	}
	return msg
}

// PublishReceiveClose subscribes a, publishes one message, waits for it and
// closes a: the minimal life of an adapter built on a borrowed client, which
// the caller then checks is still open.
func PublishReceiveClose(t testing.TB, a eventsync.Adapter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan []byte, 1)
	if err := a.Subscribe(ctx, func(b []byte) { got <- b }); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if string(m) != "hi" {
			t.Fatalf("got %q", m)
		}
	case <-ctx.Done():
		t.Fatal("message not delivered")
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// BenchEmitters runs BenchEndToEnd on uri with 1 and with 4 emitters, each
// on a key of its own.
func BenchEmitters(b *testing.B, uri string) {
	for _, emitters := range []int{1, 4} {
		b.Run(fmt.Sprintf("emitters=%d", emitters), func(b *testing.B) {
			key := fmt.Sprintf("bench-%d-%d", emitters, time.Now().UnixNano())
			BenchEndToEnd(b, eventsync.Options{URI: uri, Key: key}, emitters)
		})
	}
}
