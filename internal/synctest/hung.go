package synctest

import (
	"context"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
)

// Within runs fn, which is given a ctx of timeout, and fails the test if
// fn has not returned by limit, a bound well above timeout. It returns fn's
// error and how long fn took.
func Within(t testing.TB, what string, timeout, limit time.Duration, fn func(ctx context.Context) error) (error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err, time.Since(start)
	case <-time.After(limit):
		t.Fatalf("%s with a %v deadline still blocked after %v", what, timeout, limit)
		return nil, 0
	}
}

// CheckHungBroker holds an adapter to its contexts against uri, a broker
// that accepts connections and never answers (brokertest.Silent): Subscribe
// returns an error at its deadline, the adapter's Close and a Sync's Close
// return at theirs.
func CheckHungBroker(t *testing.T, uri string) {
	t.Helper()
	const timeout, limit = time.Second, 5 * time.Second
	a, err := eventsync.Open(context.Background(), uri, "hung")
	if err != nil {
		t.Fatal(err)
	}
	err, took := Within(t, "Subscribe", timeout, limit, func(ctx context.Context) error {
		return a.Subscribe(ctx, func([]byte) {})
	})
	if err == nil {
		t.Fatal("Subscribe succeeded on a server that never answers")
	}
	t.Logf("Subscribe on a hung broker returned after %v: %v", took.Round(time.Millisecond), err)
	_, took = Within(t, "adapter Close", timeout, limit, a.Close)
	t.Logf("adapter Close returned after %v", took.Round(time.Millisecond))

	r := Configure(t, eventsync.Options{URI: uri, Key: "hung"})
	r.EmitSeq(t, 0, 10)
	err, took = Within(t, "Sync Close", timeout, limit, r.Sync.Close)
	if err == nil {
		t.Fatal("Close reported nothing left undone on a broker that never answered")
	}
	t.Logf("Sync Close returned after %v: %v", took.Round(time.Millisecond), err)
}
