package amqpsync_test

import (
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/amqpsync"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// A receiver whose connection is cut mid-stream gets, once it is back,
// what was published meanwhile from its own queue, which outlived the
// connection: nothing missed, the catch-up counted in Recovered.
func TestRecoveryAfterCut(t *testing.T) {
	u := amqpURL(t)
	parsed, _ := url.Parse(u)
	proxy := brokertest.NewProxy(t, parsed.Host)
	viaProxy := *parsed
	viaProxy.Host = proxy.Addr()
	key := adaptertest.UniqueKey("recovery")
	const n = 3000
	pub := synctest.NewReplica(t, eventsync.Options{URI: u + "?recovery=1m", Key: key, OutboxSize: n})
	sub := synctest.NewReplica(t, eventsync.Options{URI: viaProxy.String() + "?recovery=1m", Key: key})
	res := synctest.Failover(t, pub, []*synctest.Replica{sub}, n, 500, time.Millisecond, func() {
		proxy.Cut()
		time.AfterFunc(time.Second, proxy.Restore)
	})
	st := sub.Sync.Stats()
	t.Logf("cut for 1 s: dispatched %d, missed %d, recovered %d, longest gap %v", res[0].Dispatched, res[0].Missed, st.Recovered, res[0].Window.Round(time.Millisecond))
	if res[0].Missed != 0 || res[0].Dispatched != n || st.Recovered == 0 || st.Reconnects == 0 {
		t.Fatalf("not recovered: %+v, stats %+v", res[0], st)
	}
}

// A replica's own queue (recovery) passes the conformance suite.
func TestConformanceRecovery(t *testing.T) {
	u := amqpURL(t)
	var replicas atomic.Int64
	adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter {
		a := amqpsync.Dial(u, key, amqpsync.Config{})
		if err := a.SetRecovery(eventsync.Recovery{Window: 10 * time.Second}, fmt.Sprint("conformance-", replicas.Add(1))); err != nil {
			t.Fatal(err)
		}
		return a
	})
}
