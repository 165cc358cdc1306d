package eventsync_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/inflight"
	"github.com/eventsync/eventsync/internal/synctest"
)

// benchRecord is a typical record of about 256 bytes once encoded.
func benchRecord() Todo { return Todo{ID: 12345, Title: strings.Repeat("t", 200), Done: true} }

// BenchmarkEndToEnd measures one event from a service call on one App,
// through Sync, the JSON serializer and the mem adapter, to a listener on a
// second App: the cost that is eventsync's own, with no broker.
func BenchmarkEndToEnd(b *testing.B) {
	// CreateRecordType registers the service with RecordType, which calls
	// Create without reflection.
	for _, mode := range []string{"Emit", "Create", "CreateRecordType"} {
		b.Run(mode, func(b *testing.B) {
			bus := "bench-" + mode
			var opts []eventsync.ServiceOption
			if mode == "CreateRecordType" {
				opts = append(opts, eventsync.RecordType[Todo]())
			}
			appA, svcA := newAppB(b, opts...)
			appB, svcB := newAppB(b, opts...)
			sa := configureB(b, appA, bus)
			sb := configureB(b, appB, bus)
			w := inflight.New(synctest.BenchWindow)
			done := make(chan struct{})
			target := uint64(b.N)
			svcB.On("created", func(e eventsync.Event) {
				if _, ok := e.Data.(Todo); ok && w.Arrived() == target {
					close(done)
				}
			})
			ctx := context.Background()
			rec := benchRecord()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%256 == 0 {
					w.Admit(min(256, b.N-i))
				}
				var err error
				if mode == "Emit" {
					err = svcA.Emit(ctx, "created", rec)
				} else {
					_, err = svcA.Create(ctx, rec, nil)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			<-done
			b.StopTimer()
			if st := sa.Stats(); st.Dropped != 0 || sb.Stats().InboxDropped != 0 {
				b.Fatalf("lost events: %+v / %+v", st, sb.Stats())
			}
		})
	}
}

// benchTodos numbers what it creates and keeps nothing: TodoService's map,
// growing to b.N records, made Create's figure the map's (a sixth of it at
// 1,000,000) and dependent on b.N.
type benchTodos struct{ next atomic.Int64 }

func (s *benchTodos) Create(_ context.Context, t Todo, _ eventsync.Params) (Todo, error) {
	t.ID = int(s.next.Add(1))
	return t, nil
}

func newAppB(b *testing.B, opts ...eventsync.ServiceOption) (*eventsync.App, *eventsync.Service) {
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "todos", &benchTodos{}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return app, svc
}

func configureB(b *testing.B, app *eventsync.App, bus string) *eventsync.Sync {
	s, err := eventsync.Configure(app, eventsync.Options{URI: "mem://" + bus, OutboxSize: 1 << 20, InboxSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(context.Background()) })
	<-s.Ready()
	return s
}

// BenchmarkRoundTrip measures one event at a time: Create on one App, wait
// until the second App's listener has it, then the next. ns/op is the latency
// of an idle pipeline (mem adapter, JSON).
func BenchmarkRoundTrip(b *testing.B) {
	appA, svcA := newAppB(b)
	appB, svcB := newAppB(b)
	configureB(b, appA, "bench-rt")
	configureB(b, appB, "bench-rt")
	got := make(chan struct{}, 1)
	svcB.On("created", func(eventsync.Event) { got <- struct{}{} })
	ctx := context.Background()
	rec := benchRecord()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := svcA.Create(ctx, rec, nil); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}
