package natssync_test

import (
	"net/url"
	"testing"

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
	synctest.RecoverThroughCut(t, u+"?recovery=1m&storage=memory", "nats://"+proxy.Addr()+"?recovery=1m&storage=memory", key, proxy)
}
