package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func pgURL(t *testing.T) string {
	u := brokertest.URL("EVENTSYNC_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	brokertest.Require(t, "PostgreSQL", u)
	return u
}

// The custom adapter passes the same conformance suite as the built-ins.
func TestConformance(t *testing.T) {
	u := pgURL(t)
	adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter { return New(u, key) })
}

func TestDemo(t *testing.T) {
	pgURL(t)
	if err := run("pgsync://postgres@127.0.0.1:5432/postgres?sslmode=disable"); err != nil {
		t.Fatal(err)
	}
}
