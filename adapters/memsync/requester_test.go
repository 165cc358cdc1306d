package memsync_test

import (
	"testing"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/memsync"
)

func TestRequester(t *testing.T) {
	bus := memsync.Named(t.Name())
	adaptertest.RunRequester(t, func(t *testing.T, key string) eventsync.Adapter { return memsync.New(bus, key) })
}
