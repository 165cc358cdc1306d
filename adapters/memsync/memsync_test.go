package memsync_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/memsync"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	bus := &memsync.Bus{}
	adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter { return memsync.New(bus, key) })
}
