package redissync_test

import (
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// Replicas whose URIs name different nodes of a Redis Cluster stay in
// step; the master that owns the key's slot is killed mid-stream, the
// cluster fails over, the adapter follows (the sharded subscription
// included), and every receiver accounts for every event.
func TestClusterFailover(t *testing.T) {
	for _, mode := range []struct{ name, query string }{{"classic", ""}, {"sharded", "?sharded=true"}} {
		t.Run(mode.name, func(t *testing.T) {
			c := brokertest.StartRedisCluster(t, 3)
			key := adaptertest.UniqueKey("cluster")
			master := c.MasterOf(t, key) // killed mid-stream: no replica names it
			var others []int
			for _, p := range c.Ports {
				if p != master {
					others = append(others, p)
				}
			}
			const n = 4000 // 8 s at one event every 2 ms: the failover is over long before the end
			pub := synctest.NewReplica(t, eventsync.Options{URI: c.URI(others[0]) + mode.query, Key: key, OutboxSize: n})
			subs := []*synctest.Replica{
				synctest.NewReplica(t, eventsync.Options{URI: c.URI(others[1]) + mode.query, Key: key}),
				synctest.NewReplica(t, eventsync.Options{URI: c.URI(others[2]) + mode.query, Key: key}),
			}
			var moved <-chan time.Duration
			res := synctest.Failover(t, pub, subs, n, 500, 2*time.Millisecond, func() { moved = c.KillMaster(t, key) })
			var failover time.Duration
			select {
			case failover = <-moved:
			default:
				t.Fatal("the cluster did not fail over")
			}
			for i, r := range res {
				t.Logf("%s: receiver %d: dispatched %d, missed %d, longest gap %v; failover seen after %v",
					mode.name, i, r.Dispatched, r.Missed, r.Window.Round(time.Millisecond), failover.Round(time.Millisecond))
			}
			synctest.WaitStats(t, pub.Sync, 10*time.Second, "every event published", func(st eventsync.Stats) bool { return st.Published == n })
		})
	}
}

// A master watched by three sentinels is killed mid-stream: its replica is
// promoted, the adapter follows, and every receiver accounts for every
// event.
func TestSentinelFailover(t *testing.T) {
	s := brokertest.StartRedisSentinel(t)
	key := adaptertest.UniqueKey("sentinel")
	const n = 5000 // 10 s at one event every 2 ms
	pub := synctest.NewReplica(t, eventsync.Options{URI: s.URI(), Key: key, OutboxSize: n})
	subs := []*synctest.Replica{synctest.NewReplica(t, eventsync.Options{URI: s.URI(), Key: key})}
	var promoted <-chan time.Duration
	res := synctest.Failover(t, pub, subs, n, 500, 2*time.Millisecond, func() { promoted = s.KillMaster(t) })
	select {
	case d := <-promoted:
		t.Logf("sentinel: dispatched %d, missed %d, longest gap %v; the replica promoted %v after the kill",
			res[0].Dispatched, res[0].Missed, res[0].Window.Round(time.Millisecond), d.Round(time.Millisecond))
	default:
		t.Fatal("the replica was not promoted")
	}
	synctest.WaitStats(t, pub.Sync, 10*time.Second, "every event published", func(st eventsync.Stats) bool { return st.Published == n })
}
