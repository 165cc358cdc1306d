package adaptertest_test

import (
	"testing"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/memsync"
)

// An adapter's test file runs the whole conformance suite with one call,
// giving it a way to make an adapter on a key (each check uses keys of its
// own). Options tune it to what the broker can do.
func ExampleRun() {
	bus := memsync.Named("conformance")
	_ = func(t *testing.T) { // func TestConformance(t *testing.T)
		adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter {
			return memsync.New(bus, key)
		})
	}
}
