// Package adaptertest is the conformance suite for eventsync adapters. Every
// built-in adapter runs it against its real broker, and so should yours:
//
//	func TestConformance(t *testing.T) {
//		adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter {
//			return myadapter.New(myClient(t), key)
//		})
//	}
//
// The zero set of options runs every check in full. An option names a known
// limit of the adapter or of its test server; the affected check then runs
// within that limit and says so in the log.
package adaptertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
)

// Factory returns a new, unsubscribed adapter for key. It calls t.Skip or
// t.Fatal itself when the broker cannot be reached. The suite closes every
// adapter it gets.
type Factory func(t *testing.T, key string) eventsync.Adapter

// Option states a known limit.
type Option func(*config)

type config struct {
	slowStream int
	publishers int
	maxBytes   int
	timeout    time.Duration
	leakIgnore []goleak.Option
}

// MaxPublishers limits the publishers that run at once in the
// ConcurrentPublishers and OrderPerPublisher checks to n, for a test server
// that loses messages under concurrent inserts (FerretDB).
func MaxPublishers(n int) Option { return func(c *config) { c.publishers = n } }

// MaxBacklog lowers the SlowSubscriber stream from 20,000 messages to n,
// for a broker that keeps at most n messages for a subscriber that falls
// behind (a capped collection, say) and counts what it overwrote.
func MaxBacklog(n int) Option { return func(c *config) { c.slowStream = n } }

// MaxMessageBytes lowers the size of the large message check from 1 MiB.
func MaxMessageBytes(n int) Option { return func(c *config) { c.maxBytes = n } }

// Timeout sets how long each check waits for deliveries; default 60s.
func Timeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// IgnoreGoroutines excludes goroutines that outlive Close by design (a
// client's shared pool, say) from the leak check.
func IgnoreGoroutines(opts ...goleak.Option) Option {
	return func(c *config) { c.leakIgnore = append(c.leakIgnore, opts...) }
}

// Run runs the conformance checks as subtests of t, one after another, each
// on keys of its own.
func Run(t *testing.T, newAdapter Factory, opts ...Option) {
	c := config{slowStream: 20_000, publishers: 8, maxBytes: 1 << 20, timeout: 60 * time.Second}
	for _, o := range opts {
		o(&c)
	}
	h := &harness{factory: newAdapter, cfg: c}
	t.Run("FanOut", h.fanOut)
	t.Run("OrderPerPublisher", h.orderPerPublisher)
	t.Run("KeyIsolation", h.keyIsolation)
	t.Run("CloseFlushes", h.closeFlushes)
	t.Run("PublishAfterClose", h.publishAfterClose)
	t.Run("LargeMessage", h.largeMessage)
	t.Run("BinaryMessage", h.binaryMessage)
	t.Run("ConcurrentPublishers", h.concurrentPublishers)
	t.Run("NoGoroutineLeak", h.noGoroutineLeak)
	t.Run("Pipelined", h.pipelined)
	t.Run("SlowSubscriber", h.slowSubscriber)
	t.Run("NothingAfterClose", h.nothingAfterClose)
}

type harness struct {
	factory Factory
	cfg     config
}

// UniqueKey returns a key no other test uses.
func UniqueKey(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

func (h *harness) open(t *testing.T, key string) eventsync.Adapter {
	t.Helper()
	a := h.factory(t, key)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Close(ctx)
	})
	return a
}

// collector records what a subscription delivers, and checks that deliver
// is called from one goroutine at a time: each call yields the processor
// while it is marked active, so that a second delivering goroutine, if
// there is one, runs into it.
type collector struct {
	mu       sync.Mutex
	msgs     [][]byte
	notify   chan struct{}
	active   atomic.Int32
	overlaps atomic.Int64
	slow     func(n int) // if set, called with the count so far before each message is recorded
}

func (h *harness) subscribe(t *testing.T, a eventsync.Adapter) *collector {
	t.Helper()
	return h.subscribeWith(t, a, &collector{})
}

func (h *harness) subscribeWith(t *testing.T, a eventsync.Adapter, c *collector) *collector {
	t.Helper()
	c.notify = make(chan struct{}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
	defer cancel()
	err := a.Subscribe(ctx, c.deliver)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() {
		if n := c.overlaps.Load(); n > 0 {
			t.Errorf("deliver was called while another call to it was running, %d times (it must be called from one goroutine)", n)
		}
	})
	return c
}

func (c *collector) deliver(msg []byte) {
	if c.active.Add(1) > 1 {
		c.overlaps.Add(1)
	}
	runtime.Gosched()
	c.mu.Lock()
	n := len(c.msgs)
	c.mu.Unlock()
	if c.slow != nil {
		c.slow(n)
	}
	c.mu.Lock()
	c.msgs = append(c.msgs, msg)
	c.mu.Unlock()
	c.active.Add(-1)
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// settle publishes an end marker from pub and waits for it on each
// collector, then checks that each got exactly n messages before it: an
// adapter that delivers extra copies after the expected ones fails here.
// It returns the first collector's n messages.
func (h *harness) settle(t *testing.T, pub eventsync.Adapter, n int, cols ...*collector) [][]byte {
	t.Helper()
	marker := []byte("zz-end:" + UniqueKey("marker"))
	h.publish(t, pub, marker)
	var first [][]byte
	for i, c := range cols {
		got := c.wait(t, n+1, h.cfg.timeout)
		if !bytes.Equal(got[len(got)-1], marker) || len(got) != n+1 {
			t.Fatalf("subscriber %d got %d messages before the end marker, want %d (extra copies, or the marker overtook them)", i, len(got)-1, n)
		}
		if i == 0 {
			first = got[:n]
		}
	}
	return first
}

// wait returns the delivered messages once there are at least n, or fails
// the test at the deadline with what did arrive.
func (c *collector) wait(t *testing.T, n int, timeout time.Duration) [][]byte {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		got := append([][]byte(nil), c.msgs...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			t.Fatalf("timed out after %v: %d of %d messages delivered", timeout, len(got), n)
		}
	}
}

func (h *harness) publish(t *testing.T, a eventsync.Adapter, msgs ...[]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
	defer cancel()
	if err := a.Publish(ctx, msgs...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func seq(publisher string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s:%06d", publisher, i)
	}
	return out
}

// checkPerPublisher asserts that got holds, for each publisher, exactly its
// messages in order, and nothing else.
func checkPerPublisher(t *testing.T, got [][]byte, want map[string][][]byte) {
	t.Helper()
	next := make(map[string]int)
	total := 0
	for _, msgs := range want {
		total += len(msgs)
	}
	for _, m := range got {
		p, _, ok := bytes.Cut(m, []byte(":"))
		msgs, known := want[string(p)]
		if !ok || !known {
			t.Fatalf("unexpected message %q", m)
		}
		i := next[string(p)]
		if i >= len(msgs) || !bytes.Equal(m, msgs[i]) {
			t.Fatalf("publisher %s: got %q at position %d, want %q (duplicate or out of order)", p, m, i, safeAt(msgs, i))
		}
		next[string(p)]++
	}
	if len(got) != total {
		t.Fatalf("got %d messages, want %d", len(got), total)
	}
}

func safeAt(msgs [][]byte, i int) []byte {
	if i < len(msgs) {
		return msgs[i]
	}
	return nil
}

func (h *harness) fanOut(t *testing.T) {
	key := UniqueKey("fanout")
	a, b, c := h.open(t, key), h.open(t, key), h.open(t, key)
	cols := []*collector{h.subscribe(t, a), h.subscribe(t, b), h.subscribe(t, c)}
	msgs := seq("a", 100)
	h.publish(t, a, msgs[0])
	h.publish(t, a, msgs[1:10]...)
	h.publish(t, a, msgs[10:]...)
	h.settle(t, a, len(msgs), cols...)
	var first [][]byte
	for i, col := range cols {
		got := col.wait(t, len(msgs), h.cfg.timeout)[:len(msgs)]
		t.Logf("subscriber %d got %d messages", i, len(got))
		checkPerPublisher(t, got, map[string][][]byte{"a": msgs})
		if i == 0 {
			first = got
		}
	}
	// Each subscriber owns what it got (the Sync keeps messages and points
	// into them): writing to one subscriber's messages changes nobody else's.
	want := make([][]byte, len(msgs))
	for i, m := range msgs {
		want[i] = bytes.Clone(m)
	}
	for _, m := range first {
		m[0] = 'X'
	}
	for _, col := range cols[1:] {
		checkPerPublisher(t, col.wait(t, len(msgs), h.cfg.timeout)[:len(msgs)], map[string][][]byte{"a": want})
	}
	checkPerPublisher(t, msgs, map[string][][]byte{"a": want})
}

func (h *harness) orderPerPublisher(t *testing.T) {
	key := UniqueKey("order")
	a, b, c := h.open(t, key), h.open(t, key), h.open(t, key)
	col := h.subscribe(t, c)
	want := map[string][][]byte{"a": seq("a", 500), "b": seq("b", 500)}
	var wg sync.WaitGroup
	for pub, msgs := range map[eventsync.Adapter][][]byte{a: want["a"], b: want["b"]} {
		wg.Go(func() {
			for i := 0; i < len(msgs); i += 25 {
				h.publish(t, pub, msgs[i:i+25]...)
			}
		})
		if h.cfg.publishers < 2 {
			wg.Wait() // the adapter's limit: one publisher at a time
		}
	}
	wg.Wait()
	checkPerPublisher(t, col.wait(t, 1000, h.cfg.timeout), want)
}

func (h *harness) keyIsolation(t *testing.T) {
	key1, key2 := UniqueKey("iso1"), UniqueKey("iso2")
	pub1, sub1, sub2 := h.open(t, key1), h.open(t, key1), h.open(t, key2)
	pub2 := h.open(t, key2)
	col1, col2 := h.subscribe(t, sub1), h.subscribe(t, sub2)
	h.publish(t, pub1, []byte("k1:000000"), []byte("k1:000001"))
	col1.wait(t, 2, h.cfg.timeout) // key1's messages have gone through the broker
	h.publish(t, pub2, []byte("k2:000000"))
	got := col2.wait(t, 1, h.cfg.timeout)
	checkPerPublisher(t, got, map[string][][]byte{"k2": {[]byte("k2:000000")}})
}

func (h *harness) closeFlushes(t *testing.T) {
	key := UniqueKey("flush")
	a, b := h.open(t, key), h.open(t, key)
	col := h.subscribe(t, b)
	msgs := seq("a", 1000)
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
	defer cancel()
	for i := 0; i < len(msgs); i += 50 {
		if err := a.Publish(ctx, msgs[i:i+50]...); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if err := a.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkPerPublisher(t, col.wait(t, len(msgs), h.cfg.timeout), map[string][][]byte{"a": msgs})
}

func (h *harness) publishAfterClose(t *testing.T) {
	a := h.open(t, UniqueKey("closed"))
	h.subscribe(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatalf("second Close: %v (Close must be idempotent)", err)
	}
	err := a.Publish(ctx, []byte("late"))
	if !errors.Is(err, eventsync.ErrClosed) {
		t.Fatalf("Publish after Close: got %v, want an error wrapping eventsync.ErrClosed", err)
	}
}

// pipelined checks a Pipeliner: batches sent without waiting, then one
// Confirm, arrive in order; after Close, Send and Confirm fail with
// ErrClosed. Other adapters skip it.
func (h *harness) pipelined(t *testing.T) {
	key := UniqueKey("pipelined")
	a, b := h.open(t, key), h.open(t, key)
	p, ok := a.(eventsync.Pipeliner)
	if !ok {
		t.Skip("not an eventsync.Pipeliner")
	}
	col := h.subscribe(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
	defer cancel()
	msgs := seq("p", 500)
	for i := 0; i < len(msgs); i += 25 {
		if err := p.Send(ctx, msgs[i:i+25]...); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if err := p.Confirm(ctx); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	checkPerPublisher(t, col.wait(t, len(msgs), h.cfg.timeout), map[string][][]byte{"p": msgs})
	if err := a.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Send(ctx, []byte("late")); !errors.Is(err, eventsync.ErrClosed) {
		t.Fatalf("Send after Close: got %v, want an error wrapping eventsync.ErrClosed", err)
	}
	if err := p.Confirm(ctx); !errors.Is(err, eventsync.ErrClosed) {
		t.Fatalf("Confirm after Close: got %v, want an error wrapping eventsync.ErrClosed", err)
	}
}

func (h *harness) largeMessage(t *testing.T) {
	if h.cfg.maxBytes < 1<<20 {
		t.Logf("adapter limit: large message is %d bytes, not 1 MiB (MaxMessageBytes)", h.cfg.maxBytes)
	}
	key := UniqueKey("large")
	a, b := h.open(t, key), h.open(t, key)
	col := h.subscribe(t, b)
	big := make([]byte, h.cfg.maxBytes)
	_, _ = rand.Read(big)
	h.publish(t, a, big)
	got := col.wait(t, 1, h.cfg.timeout)
	if len(got) != 1 || !bytes.Equal(got[0], big) {
		t.Fatalf("large message altered: got %d messages, first %d bytes, want 1 of %d bytes", len(got), len(got[0]), len(big))
	}
}

func (h *harness) binaryMessage(t *testing.T) {
	key := UniqueKey("binary")
	a, b := h.open(t, key), h.open(t, key)
	col := h.subscribe(t, b)
	all := make([]byte, 0, 512)
	for i := range 256 {
		all = append(all, byte(i))
	}
	all = append(all, []byte("\x00\xff\r\n\x00")...)
	h.publish(t, a, all, []byte{0})
	got := col.wait(t, 2, h.cfg.timeout)
	if !bytes.Equal(got[0], all) || !bytes.Equal(got[1], []byte{0}) {
		t.Fatalf("binary messages altered: got %q", got)
	}
}

func (h *harness) concurrentPublishers(t *testing.T) {
	n := h.cfg.publishers
	if n < 8 {
		t.Logf("adapter limit: %d concurrent publishers instead of 8 (MaxPublishers)", n)
	}
	key := UniqueKey("concurrent")
	sub := h.open(t, key)
	col := h.subscribe(t, sub)
	want := make(map[string][][]byte, n)
	var wg sync.WaitGroup
	for p := range n {
		name := fmt.Sprintf("p%d", p)
		msgs := seq(name, 1000)
		want[name] = msgs
		pub := h.open(t, key)
		wg.Go(func() {
			for i := 0; i < 1000; i += 100 {
				h.publish(t, pub, msgs[i:i+100]...)
			}
		})
	}
	wg.Wait()
	col.wait(t, n*1000, h.cfg.timeout)
	checkPerPublisher(t, h.settle(t, sub, n*1000, col), want)
}

func (h *harness) noGoroutineLeak(t *testing.T) {
	before := goleak.IgnoreCurrent()
	func() {
		key := UniqueKey("leak")
		a, b := h.factory(t, key), h.factory(t, key)
		colA, colB := h.subscribe(t, a), h.subscribe(t, b)
		h.publish(t, a, []byte("a:000000"))
		colA.wait(t, 1, h.cfg.timeout)
		colB.wait(t, 1, h.cfg.timeout)
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
		defer cancel()
		for _, ad := range []eventsync.Adapter{a, b} {
			if err := ad.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
	}()
	opts := append([]goleak.Option{before}, h.cfg.leakIgnore...)
	if err := goleak.Find(opts...); err != nil {
		t.Fatalf("goroutines left after Close: %v", err)
	}
}

// slowSubscriber publishes a stream longer than an in-process queue holds
// (memsync's is 8,192) to a subscriber that is slower than the publisher:
// either Publish waits or fails, or every message arrives; an adapter whose
// Publish returns nil while a full queue drops messages fails.
func (h *harness) slowSubscriber(t *testing.T) {
	n := h.cfg.slowStream
	key := UniqueKey("slow")
	pub, sub := h.open(t, key), h.open(t, key)
	col := h.subscribeWith(t, sub, &collector{slow: func(i int) {
		if i%500 == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}})
	msgs := seq("s", n)
	for i := 0; i < n; i += 500 {
		h.publish(t, pub, msgs[i:min(i+500, n)]...)
	}
	col.wait(t, n, h.cfg.timeout)
	checkPerPublisher(t, h.settle(t, pub, n, col), map[string][][]byte{"s": msgs})
}

// nothingAfterClose closes a subscriber while a stream is being delivered
// to it, one message at a time slowly: once Close returns, no delivery is
// in flight and none starts, though the broker goes on carrying the stream
// (a second subscriber gets all of it).
func (h *harness) nothingAfterClose(t *testing.T) {
	key := UniqueKey("afterclose")
	pub, closing, other := h.open(t, key), h.open(t, key), h.open(t, key)
	var closed atomic.Bool
	var late, inFlightAtClose atomic.Int64
	started := make(chan struct{})
	var once sync.Once
	c := &collector{slow: func(int) {
		if closed.Load() {
			late.Add(1)
		}
		once.Do(func() { close(started) })
		time.Sleep(time.Millisecond)
	}}
	h.subscribeWith(t, closing, c)
	col := h.subscribe(t, other)
	msgs := seq("c", 400)
	h.publish(t, pub, msgs[:200]...)
	select {
	case <-started:
	case <-time.After(h.cfg.timeout):
		t.Fatal("nothing delivered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
	defer cancel()
	if err := closing.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	inFlightAtClose.Store(int64(c.active.Load()))
	closed.Store(true)
	h.publish(t, pub, msgs[200:]...)
	checkPerPublisher(t, h.settle(t, pub, len(msgs), col), map[string][][]byte{"c": msgs})
	if n := inFlightAtClose.Load(); n != 0 {
		t.Fatalf("Close returned with %d deliveries in flight", n)
	}
	if n := late.Load(); n != 0 {
		t.Fatalf("%d messages delivered after Close returned", n)
	}
}
