package natssync_test

import (
	"testing"

	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// BenchmarkClusterSpread: one app, a publisher and three receivers on a
// three-server NATS cluster, all on one server against spread over the
// three.
func BenchmarkClusterSpread(b *testing.B) {
	c := brokertest.StartNATSCluster(b, 3, false)
	for _, layout := range []struct {
		name string
		subs []string
	}{{"one-server", []string{c.URL(0), c.URL(0), c.URL(0)}}, {"spread", []string{c.URL(1), c.URL(2), c.URL(0)}}} {
		b.Run(layout.name, func(b *testing.B) {
			synctest.BenchApps(b, []synctest.BenchApp{{Key: adaptertest.UniqueKey("spread"), Pub: c.URL(0), Subs: layout.subs}})
		})
	}
}
