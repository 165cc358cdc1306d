package natssync_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// BenchmarkEndToEnd: App.Emit on one replica to a listener on another,
// through the NATS server of this machine.
func BenchmarkEndToEnd(b *testing.B) { synctest.BenchEmitters(b, natsURL(b)) }

// BenchmarkRaw is bare nats.go doing the same job: publishers writing an
// equally large message with one flush per 512, a subscriber counting.
func BenchmarkRaw(b *testing.B) {
	u := natsURL(b)
	msg := synctest.WireMessage(b)
	for _, publishers := range []int{1, 4} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			pubConn, err := nats.Connect(u)
			if err != nil {
				b.Fatal(err)
			}
			defer pubConn.Close()
			key := adaptertest.UniqueKey("raw")
			synctest.BenchRaw(b, publishers, 1, msg, func(onMessage func()) func() {
				subConn, err := nats.Connect(u)
				if err != nil {
					b.Fatal(err)
				}
				sub, err := subConn.Subscribe(key, func(*nats.Msg) { onMessage() })
				if err != nil {
					b.Fatal(err)
				}
				sub.SetPendingLimits(-1, -1)
				subConn.Flush()
				return subConn.Close
			}, func(ctx context.Context, batch [][]byte) error {
				for _, m := range batch {
					if err := pubConn.Publish(key, m); err != nil {
						return err
					}
				}
				return pubConn.FlushWithContext(ctx)
			})
		})
	}
}
