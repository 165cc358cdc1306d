package registry_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/registry"
)

// BenchmarkRegistry starts 10, 100, 300 and 1,000 members in this process
// on a Redis server of its own, and 10, 100 and 300 on a NATS server of its
// own (they would load the shared ones for minutes), and reports the time until every member sees every other
// (converge-ms), then, over two heartbeat intervals at rest, the messages
// and bytes published per second (pub/s, pub-B/s), the messages delivered
// per second to all members together (deliv/s), and the members that
// expired meanwhile (expired: 0 means the interval keeps them healthy).
// EVENTSYNC_REGISTRY_INTERVAL sets the heartbeat interval (default 5s):
//
//	go test -run XXX -bench Registry -benchtime 1x ./registry
//
// Redis keeps at most 16 MiB of output for a subscriber that falls behind
// (instead of 32), so that 1,000 subscribers that one process cannot drain
// cannot fill the machine's memory; one over the limit is disconnected and
// resubscribes, and its registry heals from the heartbeats. NATS stops at
// 300: with 1,000 subscriptions in one process, nats.go's pending buffers
// (up to 64 MiB each) held 8 GB during the join storm on this machine.
func BenchmarkRegistry(b *testing.B) {
	interval := registry.DefaultInterval
	if s := os.Getenv("EVENTSYNC_REGISTRY_INTERVAL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		interval = d
	}
	for _, broker := range []string{"redis", "nats"} {
		sizes := []int{10, 100, 300, 1000}
		if broker == "nats" {
			sizes = sizes[:3]
		}
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%d", broker, n), func(b *testing.B) {
				var uri string
				if broker == "redis" {
					port := brokertest.FreePort(b)
					brokertest.StartRedis(b, port, "--port", fmt.Sprint(port), "--maxclients", "4000",
						"--client-output-buffer-limit", "pubsub 16mb 4mb 10")
					uri = fmt.Sprintf("redis://127.0.0.1:%d", port)
				} else {
					uri = brokertest.StartNATS(b)
				}
				for range b.N {
					benchMembers(b, uri, n, interval)
				}
			})
		}
	}
}

func benchMembers(b *testing.B, uri string, n int, interval time.Duration) {
	all, took := joinMany(b, registry.Options{URI: uri, Key: adaptertest.UniqueKey("regbench"), Interval: interval}, n, 5*time.Minute)
	b.ReportMetric(float64(took.Milliseconds()), "converge-ms")
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
