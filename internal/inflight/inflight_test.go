package inflight

import (
	"testing"
	"time"
)

// A sender past the limit waits until enough arrive, and Stop releases it
// when they never do.
func TestAdmitWaitsForArrivalsOrStop(t *testing.T) {
	w := New(2048)
	w.Admit(4096) // nothing in flight yet: goes at once
	admitted := make(chan struct{})
	go func() { w.Admit(1); close(admitted) }()
	for range 1024 {
		w.Arrived() // 3,072 still in flight: more than the limit
	}
	select {
	case <-admitted:
		t.Fatal("admitted with 3,072 in flight and a limit of 2,048")
	case <-time.After(50 * time.Millisecond):
	}
	for range 1024 {
		w.Arrived() // 2,048 in flight: room
	}
	select {
	case <-admitted:
	case <-time.After(10 * time.Second):
		t.Fatal("not admitted once the window had room")
	}
	// 2,049 in flight now: the next sender waits until Stop.
	stopped := make(chan struct{})
	go func() { w.Admit(1); close(stopped) }()
	w.Stop()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not release the waiting sender")
	}
	if w.Got() != 2048 {
		t.Fatalf("got %d arrivals", w.Got())
	}
}
