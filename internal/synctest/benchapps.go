package synctest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
)

// BenchApp is one app of BenchApps: its key, its publishing replica's URI
// and its receiving replicas' URIs.
type BenchApp struct {
	Key  string
	Pub  string
	Subs []string
}

// BenchApps emits b.N events spread over the apps' publishers, all of them
// at once, and reports events/s (events that reached every receiver of
// their app) and deliveries/s once every receiver has all of its app's
// events. It fails if any is lost.
func BenchApps(b *testing.B, apps []BenchApp) {
	share := max(b.N/len(apps), 1)
	type app struct {
		pub  *Replica
		subs []*atomic.Int64
	}
	var all []app
	var deliveries int
	done := make(chan struct{}, 1024)
	for _, a := range apps {
		opts := eventsync.Options{Key: a.Key, OutboxSize: share, InboxSize: share}
		opts.URI = a.Pub
		x := app{pub: NewReplica(b, opts)}
		for _, u := range a.Subs {
			opts.URI = u
			sub := NewReplica(b, opts)
			n := new(atomic.Int64)
			sub.Svc.On("created", func(eventsync.Event) {
				if n.Add(1) == int64(share) {
					done <- struct{}{}
				}
			})
			x.subs = append(x.subs, n)
			deliveries += share
		}
		all = append(all, x)
	}
	rec := Record(1)
	b.ResetTimer()
	start := time.Now()
	var emit sync.WaitGroup
	for _, a := range all {
		emit.Go(func() {
			for range share {
				_ = a.pub.Svc.Emit(context.Background(), "created", rec)
			}
		})
	}
	emit.Wait()
	want := 0
	for _, a := range all {
		want += len(a.subs)
	}
	deadline := time.After(2 * time.Minute)
	for range want {
		select {
		case <-done:
		case <-deadline:
			for i, a := range all {
				for j, n := range a.subs {
					if n.Load() < int64(share) {
						b.Errorf("app %d receiver %d: %d of %d", i, j, n.Load(), share)
					}
				}
			}
			b.FailNow()
		}
	}
	elapsed := time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(float64(share*len(all))/elapsed, "events/s")
	b.ReportMetric(float64(deliveries)/elapsed, "deliveries/s")
	b.ReportMetric(0, "ns/op")
}
