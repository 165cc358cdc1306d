package redissync_test

import (
	"fmt"
	"testing"

	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// BenchmarkClusterApps: 16 apps (16 keys) publishing at once on a Redis
// Cluster of three masters with a replica each, each app with a publisher
// and a receiver on different nodes; classic pub/sub (every message
// broadcast to every node over the cluster bus) against sharded pub/sub
// (each key's channel on its shard only).
func BenchmarkClusterApps(b *testing.B) {
	c := brokertest.StartRedisCluster(b, 3)
	for _, mode := range []struct{ name, query string }{{"classic", ""}, {"sharded", "?sharded=true"}} {
		b.Run(mode.name, func(b *testing.B) {
			var apps []synctest.BenchApp
			for i := range 16 {
				apps = append(apps, synctest.BenchApp{Key: adaptertest.UniqueKey(fmt.Sprint("app", i)),
					Pub:  c.URI(c.Ports[i%len(c.Ports)]) + mode.query,
					Subs: []string{c.URI(c.Ports[(i+1)%len(c.Ports)]) + mode.query}})
			}
			synctest.BenchApps(b, apps)
		})
	}
}

// BenchmarkClusterSpread: one app, a publisher and three receivers on
// plain connections to cluster nodes, all on one node against one node
// each (classic pub/sub reaches every node).
func BenchmarkClusterSpread(b *testing.B) {
	c := brokertest.StartRedisCluster(b, 3)
	node := func(i int) string { return fmt.Sprintf("redis://127.0.0.1:%d", c.Ports[i]) }
	for _, layout := range []struct {
		name string
		subs []string
	}{{"one-node", []string{node(0), node(0), node(0)}}, {"spread", []string{node(1), node(2), node(3)}}} {
		b.Run(layout.name, func(b *testing.B) {
			synctest.BenchApps(b, []synctest.BenchApp{{Key: adaptertest.UniqueKey("spread"), Pub: node(0), Subs: layout.subs}})
		})
	}
}
