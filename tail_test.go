package eventsync_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/memsync"
)

// blackhole wraps an adapter whose Publish, while on, reports success and
// sends nothing: messages a broker lost with nobody noticing.
type blackhole struct {
	eventsync.Adapter
	on atomic.Bool
}

func (b *blackhole) Publish(ctx context.Context, msgs ...[]byte) error {
	if b.on.Load() {
		return nil
	}
	return b.Adapter.Publish(ctx, msgs...)
}

// The last events of a stream are lost: no later event shows the gap, but
// the origin's tail announcement does, once it has been quiet for
// TailInterval, and nothing is dispatched for it.
func TestTailAnnouncesLostLastEvents(t *testing.T) {
	bus := t.Name()
	hole := &blackhole{Adapter: memsync.New(memsync.Named(bus), "k")}
	a := newReplica(t, bus, eventsync.Options{Adapter: hole, Key: "k", TailInterval: 20 * time.Millisecond})
	b := newReplica(t, bus, eventsync.Options{Key: "k"})
	ctx := context.Background()
	for i := range 5 {
		a.svc.Create(ctx, Todo{ID: i, Title: "kept"}, nil)
	}
	b.got.wait(t, 5)
	waitStats(t, a.sync, "the kept ones published", func(st eventsync.Stats) bool { return st.Published >= 5 })
	hole.on.Store(true)
	for i := range 3 {
		a.svc.Create(ctx, Todo{ID: 5 + i, Title: "lost"}, nil)
	}
	waitStats(t, a.sync, "the lost ones published", func(st eventsync.Stats) bool { return st.Published >= 8 })
	hole.on.Store(false)
	st := waitStats(t, b.sync, "the lost ones counted", func(st eventsync.Stats) bool { return st.Missed == 3 })
	if got := len(b.got.snapshot()); got != 5 || st.Dispatched != 5 || st.UnknownPath != 0 || st.Duplicates != 0 {
		t.Fatalf("dispatched %d events; stats %+v", got, st)
	}
}

// The announcement of a stream that arrived whole counts nothing, and is
// sent once, after the stream.
func TestTailOfWhatArrivedCountsNothing(t *testing.T) {
	bus := t.Name()
	a := newReplica(t, bus, eventsync.Options{TailInterval: 20 * time.Millisecond})
	b := newReplica(t, bus, eventsync.Options{})
	ctx := context.Background()
	for i := range 20 {
		a.svc.Create(ctx, Todo{ID: i, Title: "x"}, nil)
	}
	b.got.wait(t, 20)
	waitStats(t, b.sync, "the announcement received", func(st eventsync.Stats) bool { return st.Received == 21 })
	if st := b.sync.Stats(); st.Missed != 0 || st.Dispatched != 20 || st.Duplicates != 0 || st.UnknownPath != 0 {
		t.Fatalf("a tail of what arrived counted something: %+v", st)
	}
	if st := a.sync.Stats(); st.Emitted != 21 {
		t.Fatalf("announced more than once: %+v", st)
	}
}
