package adaptertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
)

// RunRequester runs the conformance checks of request and reply
// (eventsync.Requester) as subtests of t, for an adapter that implements
// it:
//
//	func TestRequester(t *testing.T) {
//		adaptertest.RunRequester(t, func(t *testing.T, key string) eventsync.Adapter {
//			return myadapter.New(myClient(t), key)
//		})
//	}
func RunRequester(t *testing.T, newAdapter Factory, opts ...Option) {
	c := config{maxBytes: 512 << 10, timeout: 30 * time.Second}
	for _, o := range opts {
		o(&c)
	}
	h := &rharness{harness{factory: newAdapter, cfg: c}}
	t.Run("AddressedOnly", h.addressedOnly)
	t.Run("RepliesToTheirCallers", h.repliesToTheirCallers)
	t.Run("NoResponders", h.noResponders)
	t.Run("Deadline", h.deadline)
	t.Run("LargeBinary", h.largeBinary)
	t.Run("StopServing", h.stopServing)
	t.Run("NoGoroutineLeak", h.noLeak)
}

type rharness struct{ harness }

// requester opens an adapter that must implement eventsync.Requester.
func (h *rharness) requester(t *testing.T, key string) eventsync.Requester {
	t.Helper()
	r, ok := h.open(t, key).(eventsync.Requester)
	if !ok {
		t.Fatal("the adapter does not implement eventsync.Requester")
	}
	return r
}

// serve serves addr with handle until the test ends.
func serve(t *testing.T, r eventsync.Requester, addr string, handle func(ctx context.Context, req []byte) []byte) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop, err := r.Serve(ctx, addr, handle)
	if err != nil {
		t.Fatalf("Serve %q: %v", addr, err)
	}
	t.Cleanup(stop)
	return stop
}

// named answers "name:request".
func named(name string) func(context.Context, []byte) []byte {
	return func(_ context.Context, req []byte) []byte { return append([]byte(name+":"), req...) }
}

func (h *rharness) request(t *testing.T, r eventsync.Requester, addr string, req []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
	defer cancel()
	reply, err := r.Request(ctx, addr, req)
	if err != nil {
		t.Fatalf("Request %q: %v", addr, err)
	}
	return reply
}

// addressedOnly: a request reaches the instance serving its address, never
// another one on the same key, nor one on another key with that address.
func (h *rharness) addressedOnly(t *testing.T) {
	key := UniqueKey("rr")
	a, b, caller := h.requester(t, key), h.requester(t, key), h.requester(t, key)
	other := h.requester(t, UniqueKey("rr-other"))
	serve(t, a, "a", named("a"))
	serve(t, b, "b", named("b"))
	serve(t, other, "a", named("other"))
	for range 10 {
		if got := h.request(t, caller, "a", []byte("x")); string(got) != "a:x" {
			t.Fatalf("request to a answered %q", got)
		}
		if got := h.request(t, caller, "b", []byte("y")); string(got) != "b:y" {
			t.Fatalf("request to b answered %q", got)
		}
	}
}

// repliesToTheirCallers: two callers with 100 requests in flight each, to
// two servers; every reply reaches the caller that sent its request.
func (h *rharness) repliesToTheirCallers(t *testing.T) {
	key := UniqueKey("rr")
	servers := []eventsync.Requester{h.requester(t, key), h.requester(t, key)}
	for i, s := range servers {
		name := fmt.Sprint("s", i)
		serve(t, s, name, func(_ context.Context, req []byte) []byte {
			time.Sleep(time.Millisecond) // keep many in flight
			return append([]byte(name+":"), req...)
		})
	}
	callers := []eventsync.Requester{h.requester(t, key), h.requester(t, key)}
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for ci, c := range callers {
		for i := range 100 {
			wg.Go(func() {
				addr := fmt.Sprint("s", i%2)
				req := fmt.Appendf(nil, "caller%d-%d", ci, i)
				ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
				defer cancel()
				got, err := c.Request(ctx, addr, req)
				if want := addr + ":" + string(req); err != nil || string(got) != want {
					errs <- fmt.Errorf("request %s to %s: got %q, %v; want %q", req, addr, got, err, want)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// noResponders: a request to an address nobody serves fails at once with
// ErrNoResponders (the broker's own answer, not a timeout).
func (h *rharness) noResponders(t *testing.T) {
	key := UniqueKey("rr")
	caller := h.requester(t, key)
	serve(t, h.requester(t, key), "here", named("here"))
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := caller.Request(ctx, "nobody", []byte("x"))
	if !errors.Is(err, eventsync.ErrNoResponders) {
		t.Fatalf("request to nobody: %v, want ErrNoResponders", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("ErrNoResponders after %v: it must not wait for a deadline", d)
	}
}

// deadline: a caller's context bounds the wait for a slow server, whose
// handler sees its context end when the server stops.
func (h *rharness) deadline(t *testing.T) {
	key := UniqueKey("rr")
	server, caller := h.requester(t, key), h.requester(t, key)
	release := make(chan struct{})
	defer close(release)
	serve(t, server, "slow", func(ctx context.Context, req []byte) []byte {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return req
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := caller.Request(ctx, "slow", []byte("x"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a request past its deadline: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the deadline of 200 ms ended the request after %v", d)
	}
}

// largeBinary: bodies of every byte value, up to the configured size
// (MaxMessageBytes; default 512 KiB), both ways.
func (h *rharness) largeBinary(t *testing.T) {
	key := UniqueKey("rr")
	server, caller := h.requester(t, key), h.requester(t, key)
	serve(t, server, "echo", func(_ context.Context, req []byte) []byte { return append(bytes.Clone(req), req...) })
	body := make([]byte, h.cfg.maxBytes/2)
	_, _ = rand.Read(body)
	for i := range 256 {
		body[i] = byte(i)
	}
	if got := h.request(t, caller, "echo", body); !bytes.Equal(got, append(bytes.Clone(body), body...)) {
		t.Fatalf("a binary body of %d bytes came back as %d bytes, altered", len(body), len(got))
	}
	if got := h.request(t, caller, "echo", nil); len(got) != 0 {
		t.Fatalf("an empty body came back as %q", got)
	}
}

// stopServing: after stop, the address has no responder.
func (h *rharness) stopServing(t *testing.T) {
	key := UniqueKey("rr")
	server, caller := h.requester(t, key), h.requester(t, key)
	stop := serve(t, server, "s", named("s"))
	h.request(t, caller, "s", []byte("x"))
	stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := caller.Request(ctx, "s", []byte("x")); !errors.Is(err, eventsync.ErrNoResponders) {
		t.Fatalf("a request after stop: %v, want ErrNoResponders", err)
	}
}

// noLeak: serving and requesting leave no goroutine behind after Close.
func (h *rharness) noLeak(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var served atomic.Int64
	func() {
		key := UniqueKey("rr-leak")
		server, caller := h.factory(t, key), h.factory(t, key)
		ctx := context.Background()
		if _, err := server.(eventsync.Requester).Serve(ctx, "s", func(_ context.Context, req []byte) []byte {
			served.Add(1)
			return req
		}); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, h.cfg.timeout)
		defer cancel()
		if _, err := caller.(eventsync.Requester).Request(rctx, "s", []byte("x")); err != nil {
			t.Fatal(err)
		}
		cctx, ccancel := context.WithTimeout(ctx, h.cfg.timeout)
		defer ccancel()
		for _, a := range []eventsync.Adapter{server, caller} {
			if err := a.Close(cctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
	}()
	if served.Load() != 1 {
		t.Fatalf("served %d requests, want 1", served.Load())
	}
	if err := goleak.Find(append([]goleak.Option{before}, h.cfg.leakIgnore...)...); err != nil {
		t.Fatalf("goroutines left after Close: %v", err)
	}
}
