package eventsync_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/memsync"
	"github.com/eventsync/eventsync/serializer"
)

// A signed message captured from the broker and published again is
// refused: by a receiver that had it, as a repeat, however many messages
// its origin sent since (8,200, more than a window that forgets old numbers
// would hold); by any receiver, fresh ones included, once it is older than MaxAge.
func TestSignedReplayRefused(t *testing.T) {
	for _, ser := range []serializer.Serializer{serializer.JSON, serializer.MsgPack} {
		t.Run(ser.Name(), func(t *testing.T) {
			bus := t.Name()
			secret := []byte("correct horse battery staple")
			opts := eventsync.Options{Secret: secret, Serializer: ser, InboxSize: 20_000}
			raw := tap(t, bus)
			a := newReplica(t, bus, opts)
			b := newReplica(t, bus, opts)
			mustCreate(t, a.svc, context.Background(), "before")
			<-raw
			mustCreate(t, a.svc, context.Background(), "original")
			captured := <-raw
			stop := make(chan struct{})
			t.Cleanup(func() { close(stop) })
			go func() { // the tap holds 100: keep it from holding up the bus
				for {
					select {
					case <-raw:
					case <-stop:
						return
					}
				}
			}()
			for i := range 8200 {
				if err := a.svc.Emit(context.Background(), "progress", Progress{Percent: i}); err != nil {
					t.Fatal(err)
				}
			}
			waitStats(t, b.sync, "8,202 dispatched", func(s eventsync.Stats) bool { return s.Dispatched == 8202 })
			attacker := memsync.New(memsync.Named(bus), eventsync.DefaultKey)
			defer attacker.Close(context.Background())
			if err := attacker.Publish(context.Background(), captured); err != nil {
				t.Fatal(err)
			}
			st := waitStats(t, b.sync, "the replay refused", func(s eventsync.Stats) bool { return s.Duplicates == 1 })
			if st.Dispatched != 8202 {
				t.Fatalf("replay dispatched: %+v", st)
			}

			// A fresh receiver whose clock reads the capture as older than MaxAge.
			var later atomic.Int64
			later.Store(time.Now().Add(3 * time.Minute).UnixNano())
			app, _ := newApp(t)
			fresh, err := eventsync.Configure(app, eventsync.Options{Secret: secret, Serializer: ser,
				Adapter: memsync.New(memsync.Named(bus), eventsync.DefaultKey)})
			if err != nil {
				t.Fatal(err)
			}
			fresh.SetClock(func() time.Time { return time.Unix(0, later.Load()) })
			defer fresh.Close(context.Background())
			waitReady(t, fresh)
			if err := attacker.Publish(context.Background(), captured); err != nil {
				t.Fatal(err)
			}
			st = waitStats(t, fresh, "the old replay refused", func(s eventsync.Stats) bool { return s.Replayed == 1 })
			if st.Dispatched != 0 || st.Forged != 0 {
				t.Fatalf("fresh receiver: %+v", st)
			}
		})
	}
}
