// Command replicas runs several replicas of a small todo app in one process,
// kept in step by eventsync. Each replica serves a page with live updates
// (server-sent events) and a JSON API; a todo created on one replica's page
// appears on every other replica's page without a reload.
//
//	go run ./examples/replicas                          # embedded NATS, 3 replicas
//	go run ./examples/replicas -uri redis://localhost:6379 -replicas 2 -port 8080
//
// The replicas share one in-memory store, as real replicas share a database;
// what eventsync carries between them is the events.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/eventsync/eventsync/adapters/all"
)

func main() {
	var cfg Config
	flag.StringVar(&cfg.URI, "uri", "", "broker URI (redis://, amqp://, nats://, mongodb://, mem://); default: an embedded NATS server")
	flag.IntVar(&cfg.Replicas, "replicas", 3, "number of replicas")
	flag.IntVar(&cfg.Port, "port", 0, "port of the first replica (the others follow); 0 picks free ports")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, cfg, os.Stdout, slog.Default()); err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

// Config is what the command line sets.
type Config struct {
	URI      string
	Replicas int
	Port     int
}

// Run starts the replicas, prints one line per replica with its URL, serves
// until ctx ends, then shuts down cleanly: HTTP first, then each Sync
// (flushing what is queued), then the embedded broker.
func Run(ctx context.Context, cfg Config, out io.Writer, log *slog.Logger) error {
	cluster, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	for i, r := range cluster.Replicas {
		fmt.Fprintf(out, "replica %d: %s (sync over %s)\n", i+1, r.URL, cluster.Broker)
	}
	<-ctx.Done()
	fmt.Fprintln(out, "shutting down")
	return cluster.Close(context.Background())
}
