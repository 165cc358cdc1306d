package remote_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/remote"
)

// BenchmarkCall measures sequential calls through a typed proxy to a users
// instance, beside the same broker's bare request and reply in the same
// run: the adapter's Request alone ("transport"), and on NATS nats.go's own
// Request ("nats.go"). It reports calls/s and p50/p99 of each.
//
//	go test -run XXX -bench Call -benchtime 5000x ./remote
func BenchmarkCall(b *testing.B) {
	for _, br := range []struct{ name, env, def string }{
		{"nats", "EVENTSYNC_NATS_URL", "nats://127.0.0.1:4222"},
		{"redis", "EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379"},
		{"amqp", "EVENTSYNC_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"},
	} {
		b.Run(br.name, func(b *testing.B) {
			uri := brokertest.URL(br.env, br.def)
			brokertest.Require(b, br.name, uri)
			key := adaptertest.UniqueKey("bench")
			usersApp := startOnB(b, uri, key, "users", true)
			orders := startOnB(b, uri, key, "orders", false)
			svc, err := remote.Use[User](orders.remote, "users")
			if err != nil {
				b.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); len(orders.reg.Serving("users")) == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatal("users not discovered")
				}
			}
			ctx := context.Background()
			proxy := measure(b, func() error { _, err := svc.Get(ctx, 1, nil); return err })

			transport, err := eventsync.Open(ctx, uri, key+"-raw")
			if err != nil {
				b.Fatal(err)
			}
			server, err := eventsync.Open(ctx, uri, key+"-raw")
			if err != nil {
				b.Fatal(err)
			}
			defer transport.Close(ctx)
			defer server.Close(ctx)
			body := []byte(`{"id":1,"name":"ada"}`)
			if _, err := server.(eventsync.Requester).Serve(ctx, "echo", func(_ context.Context, req []byte) []byte { return body }); err != nil {
				b.Fatal(err)
			}
			raw := measure(b, func() error { _, err := transport.(eventsync.Requester).Request(ctx, "echo", body); return err })
			report(b, "proxy", proxy)
			report(b, "transport", raw)
			b.ReportMetric(proxy.rate/raw.rate, "proxy/transport")
			if br.name == "nats" {
				nc, err := nats.Connect(uri)
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
				sub, _ := nc.Subscribe(key+".bare", func(m *nats.Msg) { _ = m.Respond(body) })
				defer sub.Unsubscribe()
				nc.Flush()
				bare := measure(b, func() error { _, err := nc.Request(key+".bare", body, 5*time.Second); return err })
				report(b, "nats.go", bare)
				b.ReportMetric(proxy.rate/bare.rate, "proxy/nats.go")
			}
			_ = usersApp
		})
	}
}

type figures struct {
	rate     float64
	p50, p99 time.Duration
}

// measure runs fn b.N times, one after another.
func measure(b *testing.B, fn func() error) figures {
	b.Helper()
	d := make([]time.Duration, b.N)
	start := time.Now()
	for i := range b.N {
		t0 := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		d[i] = time.Since(t0)
	}
	total := time.Since(start)
	slices.Sort(d)
	return figures{rate: float64(b.N) / total.Seconds(), p50: d[len(d)/2], p99: d[min(len(d)-1, len(d)*99/100)]}
}

func report(b *testing.B, name string, f figures) {
	b.ReportMetric(f.rate, name+"-calls/s")
	b.ReportMetric(float64(f.p50.Microseconds()), name+"-p50-µs")
	b.ReportMetric(float64(f.p99.Microseconds()), name+"-p99-µs")
}

// startOnB is startOn for a benchmark.
func startOnB(b *testing.B, uri, key, name string, withUsers bool) *instance {
	b.Helper()
	in := &instance{app: eventsync.NewApp()}
	if withUsers {
		in.users = newUsers()
		if _, err := eventsync.Use(in.app, "users", in.users); err != nil {
			b.Fatal(err)
		}
	}
	var err error
	if in.reg, err = registryJoin(uri, key, name, in.app); err != nil {
		b.Fatal(err)
	}
	if in.remote, err = remote.New(in.app, remote.Options{Registry: in.reg, URI: uri, Key: key}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.remote.Close(context.Background())
		in.reg.Close(context.Background())
	})
	return in
}
