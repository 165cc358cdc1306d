package main

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/remote"
)

// BenchmarkRemoteCall measures sequential calls through a users proxy to
// a users app in another process, on NATS, Redis and RabbitMQ, beside the
// broker's bare request and reply in the same run, to a responder on a
// connection of its own: the adapter's own Request ("transport") and, on
// NATS, nats.go's Request. It reports calls/s, p50 and p99, and the
// ratios.
//
//	go test -run XXX -bench RemoteCall -benchtime 5000x ./examples/distributed
func BenchmarkRemoteCall(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "distributed")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	for _, br := range []struct{ name, env, def string }{
		{"nats", "EVENTSYNC_NATS_URL", "nats://127.0.0.1:4222"},
		{"redis", "EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379"},
		{"amqp", "EVENTSYNC_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"},
	} {
		b.Run(br.name, func(b *testing.B) {
			uri := brokertest.URL(br.env, br.def)
			brokertest.Require(b, br.name, uri)
			key := adaptertest.UniqueKey("bench")
			users := exec.Command(bin, "-role", "users", "-uri", uri, "-key", key)
			if err := users.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { users.Process.Kill(); users.Wait() })
			ctx := context.Background()
			caller, err := Start(ctx, "gateway", uri, key, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { caller.Close(ctx) })
			svc, err := remote.Use[User](caller.Remote, "users")
			if err != nil {
				b.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if _, err := caller.Reg.WaitPath(wctx, "users"); err != nil {
				b.Fatal(err)
			}
			proxy := measure(b, func() error { _, err := svc.Get(ctx, 1, nil); return err })
			report(b, "proxy", proxy)

			// The bare transport: a responder on a connection of its own
			// answers the same bytes, across the same broker.
			server, err := eventsync.Open(ctx, uri, key+"-raw")
			if err != nil {
				b.Fatal(err)
			}
			defer server.Close(ctx)
			client, err := eventsync.Open(ctx, uri, key+"-raw")
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close(ctx)
			body := []byte(`{"result":{"id":1,"name":"ada"}}`)
			if _, err := server.(eventsync.Requester).Serve(ctx, "echo", func(context.Context, []byte) []byte { return body }); err != nil {
				b.Fatal(err)
			}
			raw := measure(b, func() error { _, err := client.(eventsync.Requester).Request(ctx, "echo", body); return err })
			report(b, "transport", raw)
			b.ReportMetric(proxy.rate/raw.rate, "proxy/transport")
			if br.name == "nats" {
				sc, err := nats.Connect(uri)
				if err != nil {
					b.Fatal(err)
				}
				defer sc.Close()
				nc, err := nats.Connect(uri)
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
				sub, _ := sc.Subscribe(key+".bare", func(m *nats.Msg) { _ = m.Respond(body) })
				defer sub.Unsubscribe()
				sc.Flush()
				bare := measure(b, func() error { _, err := nc.Request(key+".bare", body, 5*time.Second); return err })
				report(b, "nats.go", bare)
				b.ReportMetric(proxy.rate/bare.rate, "proxy/nats.go")
			}
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
