package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOnlyTheClientEventIsSynced(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := `replica 1 saw "internal job" (synced: false)
replica 1 saw "cursor move" (synced: false)
replica 1 saw "one-off local" (synced: false)
replica 1 saw "from a client" (synced: true)
replica 2 saw "from a client"
`
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
