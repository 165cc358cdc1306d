package natssync_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// Replicas connected to different servers of a three-server cluster; the
// publisher's server is killed mid-stream: the publisher reconnects to
// another server, its outbox keeps what it could not send meanwhile, and
// the receivers (on servers that stay up) get every event.
func TestClusterPublisherServerKilled(t *testing.T) {
	res, pub, _ := streamKilling(t, 0)
	for i, r := range res {
		t.Logf("publisher's server killed: receiver %d: dispatched %d, missed %d, longest gap %v", i, r.Dispatched, r.Missed, r.Window.Round(time.Millisecond))
		if r.Missed != 0 || r.Dispatched != 3000 {
			t.Errorf("receiver %d lost events: %+v", i, r)
		}
	}
	if st := pub.Sync.Stats(); st.Reconnects == 0 {
		t.Fatalf("the publisher did not reconnect: %+v", st)
	}
}

// The server a receiver uses is killed mid-stream: it reconnects to
// another server of the cluster, and accounts for every event (core NATS
// is at most once: what was published while it was away is Missed).
func TestClusterSubscriberServerKilled(t *testing.T) {
	res, _, subs := streamKilling(t, 2)
	for i, r := range res {
		t.Logf("receiver's server killed: receiver %d: dispatched %d, missed %d, longest gap %v", i, r.Dispatched, r.Missed, r.Window.Round(time.Millisecond))
	}
	if res[0].Missed != 0 {
		t.Errorf("the receiver whose server stayed up missed %d", res[0].Missed)
	}
	if st := subs[1].Sync.Stats(); st.Reconnects == 0 {
		t.Fatalf("the receiver did not reconnect: %+v", st)
	}
}

// streamKilling streams 3,000 events from a publisher on server 0 to
// receivers on servers 1 and 2 of a new cluster, killing server kill at
// event 500.
func streamKilling(t *testing.T, kill int) ([]synctest.FailoverResult, *synctest.Replica, []*synctest.Replica) {
	t.Helper()
	c := brokertest.StartNATSCluster(t, 3, false)
	key := adaptertest.UniqueKey("cluster")
	const n = 3000
	pub := synctest.NewReplica(t, eventsync.Options{URI: c.URL(0), Key: key, OutboxSize: n})
	subs := []*synctest.Replica{
		synctest.NewReplica(t, eventsync.Options{URI: c.URL(1), Key: key}),
		synctest.NewReplica(t, eventsync.Options{URI: c.URL(2), Key: key}),
	}
	waitInterest(t, c, key)
	return synctest.Failover(t, pub, subs, n, 500, 2*time.Millisecond, func() { c.Kill(kill) }), pub, subs
}

// Durable mode on a three-server JetStream cluster with the stream kept by
// all three: the stream's leader is killed mid-stream and the receiver
// misses nothing.
func TestClusterJetStreamDurable(t *testing.T) {
	c := brokertest.StartNATSCluster(t, 3, true)
	key := adaptertest.UniqueKey("jscluster")
	const n = 3000
	durable := func(name string) string { return "?durable=" + name + "&replicas=3" }
	pub := synctest.NewReplica(t, eventsync.Options{URI: c.URL(0) + durable("pub"), Key: key, OutboxSize: n})
	sub := synctest.NewReplica(t, eventsync.Options{URI: c.URL(1) + durable("sub"), Key: key})
	leader := streamLeader(t, c, key)
	res := synctest.Failover(t, pub, []*synctest.Replica{sub}, n, 500, 2*time.Millisecond, func() { c.Kill(leader) })
	t.Logf("JetStream R3, leader n%d killed: dispatched %d, missed %d, longest gap %v", leader+1, res[0].Dispatched, res[0].Missed, res[0].Window.Round(time.Millisecond))
	if res[0].Missed != 0 || res[0].Dispatched != n {
		t.Fatalf("lost events: %+v", res[0])
	}
}

// waitInterest waits until the publisher's server (0) sees the
// subscriptions of the publisher and of the receivers on the two other
// servers, so that the stream does not start before their interest reached
// it.
func waitInterest(t *testing.T, c *brokertest.NATSCluster, key string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Servers[0].GlobalAccount().Interest(key) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the publisher's server sees %d subscriptions on %s", c.Servers[0].GlobalAccount().Interest(key), key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// streamLeader returns the index of the server that leads key's stream.
func streamLeader(t *testing.T, c *brokertest.NATSCluster, key string) int {
	t.Helper()
	nc, err := nats.Connect(c.URL(2))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lister := js.ListStreams(ctx)
	for info := range lister.Info() {
		for i, s := range c.Servers {
			if info.Cluster != nil && info.Cluster.Leader == s.Name() {
				return i
			}
		}
	}
	t.Fatalf("no leader for %s's stream", key)
	return 0
}
