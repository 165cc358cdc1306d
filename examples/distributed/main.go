// Command distributed runs apps that hold different services and call each
// other through the broker: "users" serves users, "orders" serves orders
// and checks each order's user through a proxy of users (and hears when a
// user is created), "gateway" serves every service it discovers over REST
// at /api/ with a page of the live members.
//
//	go run ./examples/distributed                         # everything in one process, on an embedded NATS server
//	go run ./examples/distributed -role users -uri nats://127.0.0.1:4222
//	go run ./examples/distributed -role gateway -uri nats://127.0.0.1:4222 -port 8090
//
// Each role is its own process when -uri points every one of them at a real
// broker (any adapter with request and reply: NATS, Redis, RabbitMQ).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/eventsync/eventsync/adapters/all"
	"github.com/eventsync/eventsync/adapters/natssync/embedded"
)

func main() {
	role := flag.String("role", "", "users, orders or gateway; empty: two users instances, orders and a gateway in this process")
	uri := flag.String("uri", "", "broker URI; empty: an embedded NATS server")
	key := flag.String("key", "eventsync-distributed-demo", "broker key the apps share")
	port := flag.Int("port", 0, "the gateway's HTTP port; 0: a free one")
	token := flag.String("token", "", "the gateway's bearer token for writes; empty: a random one, printed")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *role, *uri, *key, *port, *token, log); err != nil {
		fmt.Fprintln(os.Stderr, "distributed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, role, uri, key string, port int, token string, log *slog.Logger) error {
	if uri == "" {
		srv, err := embedded.Start(embedded.Options{})
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		uri = srv.URL()
	}
	roles := []string{role}
	if role == "" {
		roles = []string{"users", "users", "orders", "gateway"}
	}
	if token == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		token = hex.EncodeToString(b[:])
	}
	var nodes []*Node
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, n := range nodes {
			n.Close(cctx)
		}
	}()
	for _, r := range roles {
		n, err := Start(ctx, r, uri, key, log.With("role", r))
		if err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
		nodes = append(nodes, n)
		if r != "gateway" {
			fmt.Printf("%s instance %s up\n", r, n.Reg.Instance())
			continue
		}
		handler, stopProxies := Gateway(n, token)
		defer stopProxies()
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Printf("gateway: http://%s/ (writes need: Authorization: Bearer %s)\n", ln.Addr(), token)
	}
	<-ctx.Done()
	return nil
}
