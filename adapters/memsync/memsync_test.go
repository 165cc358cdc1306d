package memsync_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/memsync"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	bus := &memsync.Bus{}
	adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter { return memsync.New(bus, key) })
}

// TestSubscribersOwnWhatTheyGet: each subscriber is handed a copy of the
// message, as a broker would hand it over: what one does with it (keeping
// strings that point into it, or writing to it) concerns neither the other
// subscribers nor the publisher's memory.
func TestSubscribersOwnWhatTheyGet(t *testing.T) {
	bus := &memsync.Bus{}
	ctx := t.Context()
	pub := memsync.New(bus, "own")
	defer pub.Close(ctx)
	got := make([]chan []byte, 2)
	for i := range got {
		got[i] = make(chan []byte, 1)
		sub := memsync.New(bus, "own")
		defer sub.Close(ctx)
		if err := sub.Subscribe(ctx, func(msg []byte) { got[i] <- msg }); err != nil {
			t.Fatal(err)
		}
	}
	msg := []byte("hello")
	if err := pub.Publish(ctx, msg); err != nil {
		t.Fatal(err)
	}
	var first []byte
	for i, ch := range got {
		select {
		case m := <-ch:
			if i == 0 {
				first = m
				first[0] = 'J'
			} else if string(m) != "hello" {
				t.Errorf("the second subscriber got %q after the first wrote to its copy", m)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("subscriber %d got nothing", i)
		}
	}
	if string(msg) != "hello" {
		t.Errorf("the publisher's message became %q", msg)
	}
}

// TestEchoFilter: what the filter reports as the replica's own is dropped
// before delivery, the rest delivered in order.
func TestEchoFilter(t *testing.T) {
	bus := &memsync.Bus{}
	ctx := t.Context()
	a := memsync.New(bus, "echo")
	defer a.Close(ctx)
	a.SetEchoFilter(func(msg []byte) bool { return string(msg) == "mine" })
	got := make(chan string, 3)
	if err := a.Subscribe(ctx, func(msg []byte) { got <- string(msg) }); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, []byte("theirs"), []byte("mine"), []byte("last")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"theirs", "last"} {
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("got %q, want %q", m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("waiting for %q", want)
		}
	}
}
