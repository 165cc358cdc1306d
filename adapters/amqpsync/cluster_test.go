package amqpsync_test

import (
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// Two RabbitMQ nodes of the test's own, clustered; URIs name both. The node
// the publisher and one receiver use is killed mid-stream: both reconnect
// to the other node; the publisher's outbox keeps what could not be sent,
// the receiver on the surviving node gets every event, and the one that
// moved accounts for every event.
func TestClusterNodeLost(t *testing.T) {
	c := brokertest.StartRabbitCluster(t, 2)
	key := adaptertest.UniqueKey("cluster")
	const n = 4000
	pub := synctest.NewReplica(t, eventsync.Options{URI: c.URI(0), Key: key, OutboxSize: n})
	subs := []*synctest.Replica{
		synctest.NewReplica(t, eventsync.Options{URI: c.URI(1), Key: key}),
		synctest.NewReplica(t, eventsync.Options{URI: c.URI(0), Key: key}),
	}
	res := synctest.Failover(t, pub, subs, n, 500, 2*time.Millisecond, func() { c.Kill(0) })
	for i, r := range res {
		t.Logf("node lost: receiver %d: dispatched %d, missed %d, longest gap %v", i, r.Dispatched, r.Missed, r.Window.Round(time.Millisecond))
	}
	if res[0].Missed != 0 || res[0].Dispatched != n {
		t.Errorf("the receiver on the surviving node lost events: %+v", res[0])
	}
	for i, r := range []*synctest.Replica{pub, subs[1]} {
		if st := r.Sync.Stats(); st.Reconnects == 0 {
			t.Errorf("replica %d on the lost node did not reconnect: %+v", i, st)
		}
	}
}
