package registry_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/registry"
)

// BenchmarkRegistry starts 10, 100 and 1,000 members in this process on
// Redis and NATS, and reports the time until every member sees every
// other (converge-ms), then, over two heartbeat intervals at rest, the
// messages and bytes published per second (pub/s, pub-B/s), the messages
// delivered per second to all members together (deliv/s), and the members
// that expired meanwhile (expired: 0 means the interval keeps them
// healthy). EVENTSYNC_REGISTRY_INTERVAL sets the heartbeat interval
// (default 5s):
//
//	go test -run XXX -bench Registry -benchtime 1x ./registry
func BenchmarkRegistry(b *testing.B) {
	interval := registry.DefaultInterval
	if s := os.Getenv("EVENTSYNC_REGISTRY_INTERVAL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		interval = d
	}
	for _, broker := range []struct{ name, env, def string }{
		{"redis", "EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379"},
		{"nats", "EVENTSYNC_NATS_URL", "nats://127.0.0.1:4222"},
	} {
		uri := brokertest.URL(broker.env, broker.def)
		for _, n := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/%d", broker.name, n), func(b *testing.B) {
				brokertest.Require(b, broker.name, uri)
				for range b.N {
					benchMembers(b, uri, n, interval)
				}
			})
		}
	}
}

func benchMembers(b *testing.B, uri string, n int, interval time.Duration) {
	key := adaptertest.UniqueKey("regbench")
	start := time.Now()
	all := make([]*registry.Registry, 0, n)
	defer func() {
		var wg sync.WaitGroup
		for _, r := range all {
			wg.Go(func() { _ = r.Close(context.Background()) })
		}
		wg.Wait()
	}()
	for i := range n {
		r, err := registry.Join(registry.Options{URI: uri, Key: key, App: fmt.Sprintf("app%d", i%10), Interval: interval})
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, r)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for _, r := range all {
		for r.Stats().Members != n-1 {
			if time.Now().After(deadline) {
				b.Fatalf("%s sees %d of %d peers", r.Instance(), r.Stats().Members, n-1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "converge-ms")
	sum := func() (sent, bytes, received, expired uint64) {
		for _, r := range all {
			st := r.Stats()
			sent, bytes, received, expired = sent+st.Sent, bytes+st.SentBytes, received+st.Received, expired+st.Expired
		}
		return
	}
	s0, by0, r0, e0 := sum()
	window := 2 * interval
	time.Sleep(window)
	s1, by1, r1, e1 := sum()
	secs := window.Seconds()
	b.ReportMetric(float64(s1-s0)/secs, "pub/s")
	b.ReportMetric(float64(by1-by0)/secs, "pub-B/s")
	b.ReportMetric(float64(r1-r0)/secs, "deliv/s")
	b.ReportMetric(float64(e1-e0), "expired")
}
