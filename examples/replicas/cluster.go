package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/natssync/embedded"
)

// Cluster is a set of running replicas and, without -uri, their broker.
type Cluster struct {
	Replicas []*Replica
	Broker   string // the broker URI, password redacted
	nats     *embedded.Server
}

// Replica is one copy of the app: an eventsync App with its Sync and an HTTP server.
type Replica struct {
	URL  string
	App  *eventsync.App
	Sync *eventsync.Sync
	http *http.Server
}

// Start starts an embedded NATS server if cfg.URI is empty, then the
// replicas, and waits until each is Ready.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (c *Cluster, err error) {
	if cfg.Replicas < 1 {
		return nil, errors.New("need at least one replica")
	}
	c = &Cluster{}
	defer func() {
		if err != nil {
			c.Close(context.Background())
		}
	}()
	uri := cfg.URI
	if uri == "" {
		if c.nats, err = embedded.Start(embedded.Options{}); err != nil {
			return nil, err
		}
		uri = c.nats.URL()
	}
	c.Broker = eventsync.RedactURI(uri)
	store := NewStore()
	for i := range cfg.Replicas {
		port := 0
		if cfg.Port != 0 {
			port = cfg.Port + i
		}
		r, err := startReplica(ctx, uri, port, store, log.With("replica", i+1))
		if err != nil {
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		c.Replicas = append(c.Replicas, r)
	}
	return c, nil
}

func startReplica(ctx context.Context, uri string, port int, store *Store, log *slog.Logger) (*Replica, error) {
	app := eventsync.NewApp()
	app.SetLogger(log)
	if _, err := eventsync.Use(app, "todos", &TodoService{store: store}); err != nil {
		return nil, err
	}
	s, err := eventsync.Configure(app, eventsync.Options{URI: uri, Key: "eventsync-replicas-demo", Logger: log})
	if err != nil {
		return nil, err
	}
	r := &Replica{App: app, Sync: s}
	ready, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	select {
	case <-s.Ready():
	case <-ready.Done():
		s.Close(context.Background())
		return nil, fmt.Errorf("broker %s not ready: %v", eventsync.RedactURI(uri), s.Err())
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		s.Close(context.Background())
		return nil, err
	}
	r.URL = fmt.Sprintf("http://%s/", ln.Addr())
	handler, endStreams := newHandler(app, s)
	r.http = &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	r.http.RegisterOnShutdown(endStreams)
	go r.http.Serve(ln)
	return r, nil
}

// Close stops the HTTP servers, closes every Sync (publishing what is still
// queued) and stops the embedded broker.
func (c *Cluster) Close(ctx context.Context) error {
	var errs []error
	for _, r := range c.Replicas {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		r.http.Shutdown(sctx) // ends open event streams too (see newHandler)
		cancel()
	}
	for _, r := range c.Replicas {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		errs = append(errs, r.Sync.Close(cctx))
		cancel()
	}
	if c.nats != nil {
		c.nats.Shutdown()
	}
	return errors.Join(errs...)
}
