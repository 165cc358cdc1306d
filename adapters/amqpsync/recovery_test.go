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
	synctest.RecoverThroughCut(t, u+"?recovery=1m", viaProxy.String()+"?recovery=1m", key, proxy)
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
