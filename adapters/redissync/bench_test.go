package redissync_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// BenchmarkEndToEnd: App.Emit on one replica to a listener on another, through Redis.
func BenchmarkEndToEnd(b *testing.B) { synctest.BenchEmitters(b, redisURL(b)) }

// BenchmarkRaw is bare go-redis doing the same job: publishers pipelining
// PUBLISH of an equally large message in batches of 512, and a subscriber
// counting arrivals. The ratio EndToEnd/Raw is eventsync's cost. With
// subscribers=2 a second subscriber reads everything too, as the publishing
// replica does in EndToEnd (Redis sends a publisher its own messages).
func BenchmarkRaw(b *testing.B) {
	u := redisURL(b)
	msg := synctest.WireMessage(b)
	for _, c := range []struct{ publishers, subscribers int }{{1, 1}, {4, 1}, {4, 2}} {
		publishers := c.publishers
		b.Run(fmt.Sprintf("publishers=%d/subscribers=%d", publishers, c.subscribers), func(b *testing.B) {
			opts, _ := redis.ParseURL(u)
			pubClient := redis.NewClient(opts)
			defer pubClient.Close()
			key := adaptertest.UniqueKey("raw")
			synctest.BenchRaw(b, publishers, c.subscribers, msg, func(onMessage func()) func() {
				subClient := redis.NewClient(opts)
				ps := subClient.Subscribe(context.Background(), key)
				if _, err := ps.Receive(context.Background()); err != nil {
					b.Fatal(err)
				}
				go func() {
					for {
						m, err := ps.Receive(context.Background())
						if err != nil {
							return
						}
						if _, ok := m.(*redis.Message); ok {
							onMessage()
						}
					}
				}()
				return func() { ps.Close(); subClient.Close() }
			}, func(ctx context.Context, batch [][]byte) error {
				pipe := pubClient.Pipeline()
				for _, m := range batch {
					pipe.Publish(ctx, key, m)
				}
				_, err := pipe.Exec(ctx)
				return err
			})
		})
	}
}
