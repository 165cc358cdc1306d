package natssync_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// Recovery is durable mode with a consumer per replica: a receiver whose
// connection is cut mid-stream gets what was published meanwhile, nothing
// missed, the catch-up counted in Recovered.
func TestRecoveryAfterCut(t *testing.T) {
	u := natsURL(t)
	parsed, _ := url.Parse(u)
	proxy := brokertest.NewProxy(t, parsed.Host)
	key := adaptertest.UniqueKey("recovery")
	const n = 3000
	pub := synctest.NewReplica(t, eventsync.Options{URI: u + "?recovery=1m&storage=memory", Key: key, OutboxSize: n})
	sub := synctest.NewReplica(t, eventsync.Options{URI: "nats://" + proxy.Addr() + "?recovery=1m&storage=memory", Key: key})
	res := synctest.Failover(t, pub, []*synctest.Replica{sub}, n, 500, time.Millisecond, func() {
		proxy.Cut()
		time.AfterFunc(time.Second, proxy.Restore)
	})
	st := sub.Sync.Stats()
	t.Logf("cut: dispatched %d, missed %d, recovered %d, longest gap %v", res[0].Dispatched, res[0].Missed, st.Recovered, res[0].Window.Round(time.Millisecond))
	if res[0].Missed != 0 || res[0].Dispatched != n || st.Reconnects == 0 {
		t.Fatalf("not recovered: %+v, stats %+v", res[0], st)
	}
}
