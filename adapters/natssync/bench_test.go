package natssync_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/serializer"
)

// BenchmarkEndToEnd: App.Emit on one replica to a listener on another,
// through the NATS server of this machine.
func BenchmarkEndToEnd(b *testing.B) {
	u := natsURL(b)
	for _, emitters := range []int{1, 4} {
		b.Run(fmt.Sprintf("emitters=%d", emitters), func(b *testing.B) {
			synctest.BenchEndToEnd(b, eventsync.Options{URI: u, Key: adaptertest.UniqueKey("bench")}, emitters)
		})
	}
}

// BenchmarkRaw is bare nats.go doing the same job: publishers writing an
// equally large message with one flush per 512, a subscriber counting.
func BenchmarkRaw(b *testing.B) {
	u := natsURL(b)
	msg, err := serializer.JSON.Encode(&serializer.Message{Event: "created", Path: "todos", Data: synctest.Record(1), Origin: "0123456789abcdef"})
	if err != nil {
		b.Fatal(err)
	}
	for _, publishers := range []int{1, 4} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			pubConn, err := nats.Connect(u)
			if err != nil {
				b.Fatal(err)
			}
			defer pubConn.Close()
			subConn, err := nats.Connect(u)
			if err != nil {
				b.Fatal(err)
			}
			defer subConn.Close()
			key := adaptertest.UniqueKey("raw")
			var got atomic.Int64
			done := make(chan struct{})
			sub, err := subConn.Subscribe(key, func(*nats.Msg) {
				if got.Add(1) == int64(b.N) {
					close(done)
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			sub.SetPendingLimits(-1, -1)
			subConn.Flush()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for p := range publishers {
				n := b.N / publishers
				if p == 0 {
					n += b.N % publishers
				}
				wg.Go(func() {
					for i := 1; i <= n; i++ {
						pubConn.Publish(key, msg)
						if i%512 == 0 || i == n {
							if err := pubConn.FlushWithContext(ctx); err != nil {
								b.Error(err)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			select {
			case <-done:
			case <-ctx.Done():
				b.Fatalf("raw: %d of %d arrived", got.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
