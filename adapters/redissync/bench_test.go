package redissync_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/serializer"
)

// BenchmarkEndToEnd: App.Emit on one replica to a listener on another, through Redis.
func BenchmarkEndToEnd(b *testing.B) {
	u := redisURL(b)
	for _, emitters := range []int{1, 4} {
		b.Run(fmt.Sprintf("emitters=%d", emitters), func(b *testing.B) {
			synctest.BenchEndToEnd(b, eventsync.Options{URI: u, Key: adaptertest.UniqueKey("bench")}, emitters)
		})
	}
}

// BenchmarkRaw is the bare client doing the same job: publishers pipelining
// PUBLISH of an equally large message in batches of 512, and a subscriber
// counting arrivals. The ratio EndToEnd/Raw is eventsync's cost.
func BenchmarkRaw(b *testing.B) {
	u := redisURL(b)
	msg, err := serializer.JSON.Encode(&serializer.Message{Event: "created", Path: "todos", Data: synctest.Record(1), Origin: "0123456789abcdef"})
	if err != nil {
		b.Fatal(err)
	}
	for _, publishers := range []int{1, 4} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			opts, _ := redis.ParseURL(u)
			pubClient, subClient := redis.NewClient(opts), redis.NewClient(opts)
			defer pubClient.Close()
			defer subClient.Close()
			ctx := context.Background()
			key := adaptertest.UniqueKey("raw")
			ps := subClient.Subscribe(ctx, key)
			defer ps.Close()
			if _, err := ps.Receive(ctx); err != nil {
				b.Fatal(err)
			}
			var got atomic.Int64
			done := make(chan struct{})
			go func() {
				for {
					m, err := ps.Receive(ctx)
					if err != nil {
						return
					}
					if _, ok := m.(*redis.Message); ok && got.Add(1) == int64(b.N) {
						close(done)
					}
				}
			}()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for p := range publishers {
				n := b.N / publishers
				if p == 0 {
					n += b.N % publishers
				}
				wg.Go(func() {
					for n > 0 {
						batch := min(n, 512)
						pipe := pubClient.Pipeline()
						for range batch {
							pipe.Publish(ctx, key, msg)
						}
						if _, err := pipe.Exec(ctx); err != nil {
							b.Error(err)
							return
						}
						n -= batch
					}
				})
			}
			wg.Wait()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				b.Fatalf("raw: %d of %d arrived", got.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
