package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/registry"
	"github.com/eventsync/eventsync/remote"
)

// Node is one running instance of a role: its App, synced on the key,
// listed in the registry, and calling and serving through a Remote.
type Node struct {
	Role   string
	App    *eventsync.App
	Sync   *eventsync.Sync
	Reg    *registry.Registry
	Remote *remote.Remote
}

// Start starts an instance of role ("users", "orders" or "gateway") on the
// broker at uri, key.
func Start(ctx context.Context, role, uri, key string, log *slog.Logger) (n *Node, err error) {
	n = &Node{Role: role, App: eventsync.NewApp()}
	n.App.SetLogger(log)
	defer func() {
		if err != nil {
			n.Close(context.Background())
		}
	}()
	var orders *Orders
	switch role {
	case "users":
		if _, err := eventsync.Use(n.App, "users", NewUsers()); err != nil {
			return nil, err
		}
	case "orders":
		orders = &Orders{}
		if _, err := eventsync.Use(n.App, "orders", orders); err != nil {
			return nil, err
		}
	case "gateway":
	default:
		return nil, fmt.Errorf("unknown role %q (users, orders, gateway)", role)
	}
	if n.Reg, err = registry.Join(registry.Options{URI: uri, Key: key, App: role, Version: "1.0", From: n.App, Logger: log}); err != nil {
		return nil, err
	}
	if n.Remote, err = remote.New(n.App, remote.Options{Registry: n.Reg, URI: uri, Key: key, Logger: log, Params: []string{"query", "provider", "user"}}); err != nil {
		return nil, err
	}
	if orders != nil {
		if orders.users, err = remote.Use[User](n.Remote, "users"); err != nil {
			return nil, err
		}
		orders.users.On("created", func(ev eventsync.Event) {
			log.Info("orders: a user was created in the users app", "user", ev.Data.(User).Name)
		})
	}
	if n.Sync, err = eventsync.Configure(n.App, eventsync.Options{URI: uri, Key: key, Logger: log}); err != nil {
		return nil, err
	}
	wait, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	select {
	case <-n.Sync.Ready():
	case <-wait.Done():
		return nil, fmt.Errorf("broker %s not ready: %v", eventsync.RedactURI(uri), n.Sync.Err())
	}
	return n, nil
}

// Close leaves the registry (peers see it at once) and closes the rest.
func (n *Node) Close(ctx context.Context) error {
	var errs []error
	if n.Remote != nil {
		errs = append(errs, n.Remote.Close(ctx))
	}
	if n.Reg != nil {
		errs = append(errs, n.Reg.Close(ctx))
	}
	if n.Sync != nil {
		errs = append(errs, n.Sync.Close(ctx))
	}
	return errors.Join(errs...)
}
