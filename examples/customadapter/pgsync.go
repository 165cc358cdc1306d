// Package main shows how to write an eventsync adapter for a transport that
// is not built in, here PostgreSQL LISTEN/NOTIFY, and how to prove it with
// the conformance suite (pgsync_test.go runs adaptertest.Run against the
// PostgreSQL server of this machine).
//
// The walk-through in docs/writing-an-adapter.md follows this file from top to bottom.
package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/eventsync/eventsync"
)

// Step 1: register a scheme in init, so that importing the package is
// enough: eventsync.Options{URI: "pgsync://user@localhost:5432/db"}.
func init() { eventsync.Register("pgsync", openURL) }

// Step 2: an opener builds the adapter from the URI without touching the
// network, and rejects parameters it does not know.
func openURL(_ context.Context, u *url.URL, key string) (eventsync.Adapter, error) {
	if err := eventsync.CheckQuery(u, "sslmode"); err != nil {
		return nil, err
	}
	dsn := *u
	dsn.Scheme = "postgres"
	return New(dsn.String(), key), nil
}

// NOTIFY payloads are text of at most 8000 bytes. Small messages travel
// inline (base64); larger ones are stored in a table and the notification
// carries the row id.
const inlineLimit = 7000

// Adapter carries messages over one PostgreSQL notification channel.
type Adapter struct {
	dsn, key string
	mu       sync.Mutex
	db       *sql.DB
	listener *pq.Listener
	closed   bool
	done     chan struct{}
}

// New returns an adapter for the database at dsn and the channel key.
func New(dsn, key string) *Adapter { return &Adapter{dsn: dsn, key: key} }

// database opens the pool and creates the table for large messages. The
// caller holds a.mu.
func (a *Adapter) database(ctx context.Context) (*sql.DB, error) {
	if a.closed {
		return nil, eventsync.ErrClosed
	}
	if a.db != nil {
		return a.db, nil
	}
	db, err := sql.Open("postgres", a.dsn)
	if err != nil {
		return nil, err
	}
	_, err = db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS eventsync_messages (
		id bigserial PRIMARY KEY, created timestamptz NOT NULL DEFAULT now(), payload bytea NOT NULL)`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create table: %w", err)
	}
	a.db = db
	return db, nil
}

// Step 3: Subscribe returns once the subscription is live, then delivers
// every message, this adapter's own included, from one goroutine.
func (a *Adapter) Subscribe(ctx context.Context, deliver func([]byte)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	db, err := a.database(ctx)
	if err != nil {
		return fmt.Errorf("pgsync: subscribe: %w", err)
	}
	if a.listener != nil {
		return errors.New("pgsync: subscribe: already subscribed")
	}
	l := pq.NewListener(a.dsn, 50*time.Millisecond, 5*time.Second, nil)
	if err := l.Listen(a.key); err != nil { // returns once LISTEN is in effect
		l.Close()
		return fmt.Errorf("pgsync: listen %q: %w", a.key, err)
	}
	a.listener, a.done = l, make(chan struct{})
	go func() {
		defer close(a.done)
		for n := range l.Notify { // closed by listener.Close
			if n == nil {
				continue // a reconnect: LISTEN notifications sent meanwhile are lost
			}
			if msg, err := a.resolve(db, n.Extra); err == nil {
				deliver(msg)
			} else {
				deliver([]byte(n.Extra)) // the Sync counts it as malformed
			}
		}
	}()
	return nil
}

func (a *Adapter) resolve(db *sql.DB, payload string) ([]byte, error) {
	if inline, ok := strings.CutPrefix(payload, "i:"); ok {
		return base64.StdEncoding.DecodeString(inline)
	}
	ref, ok := strings.CutPrefix(payload, "r:")
	id, err := strconv.ParseInt(ref, 10, 64)
	if !ok || err != nil {
		return nil, fmt.Errorf("pgsync: bad notification %q", payload)
	}
	var msg []byte
	err = db.QueryRow(`SELECT payload FROM eventsync_messages WHERE id = $1`, id).Scan(&msg)
	return msg, err
}

// Step 4: Publish sends one batch, in order, or returns an error (the Sync
// retries it). Notifications of one transaction are delivered at commit, in
// order, so a batch is one transaction.
func (a *Adapter) Publish(ctx context.Context, msgs ...[]byte) error {
	a.mu.Lock()
	db, err := a.database(ctx)
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("pgsync: publish: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pgsync: publish: %w", err)
	}
	defer tx.Rollback()
	for _, m := range msgs {
		payload := "i:" + base64.StdEncoding.EncodeToString(m)
		if len(payload) > inlineLimit {
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO eventsync_messages (payload) VALUES ($1) RETURNING id`, m).Scan(&id); err != nil {
				return fmt.Errorf("pgsync: publish: store large message: %w", err)
			}
			payload = "r:" + strconv.FormatInt(id, 10)
		}
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, a.key, payload); err != nil {
			return fmt.Errorf("pgsync: publish: notify: %w", err)
		}
	}
	// Large messages are read right after delivery; an hour is plenty.
	if _, err := tx.ExecContext(ctx, `DELETE FROM eventsync_messages WHERE created < now() - interval '1 hour'`); err != nil {
		return fmt.Errorf("pgsync: publish: clean up: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pgsync: publish: commit: %w", err)
	}
	return nil
}

// Step 5: Close releases everything; Publish is synchronous, so there is
// nothing left to flush. After Close, Publish returns ErrClosed.
func (a *Adapter) Close(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	var errs []error
	if a.listener != nil {
		errs = append(errs, a.listener.Close())
		<-a.done
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	return errors.Join(errs...)
}
