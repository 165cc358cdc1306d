package redissync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/redissync"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// The stream mode that recovery selects passes the conformance suite.
func TestConformanceRecovery(t *testing.T) {
	opts, err := redis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter {
		t.Cleanup(func() { client.Del(context.Background(), key) })
		a := redissync.New(client, key)
		if err := a.SetRecovery(eventsync.Recovery{Window: time.Minute, Events: 100_000}, "conformance"); err != nil {
			t.Fatal(err)
		}
		return a
	})
}

// A receiver whose connection is cut mid-stream gets, once it is back,
// what was published meanwhile: nothing missed, the catch-up counted in
// Recovered.
func TestRecoveryAfterCut(t *testing.T) {
	u := redisURL(t)
	proxy := brokertest.NewProxy(t, strings.TrimPrefix(strings.TrimPrefix(u, "redis://"), "rediss://"))
	key := adaptertest.UniqueKey("recovery")
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: strings.TrimPrefix(u, "redis://")})
		c.Del(context.Background(), key)
		c.Close()
	})
	synctest.RecoverThroughCut(t, u+"?recovery=1m", "redis://"+proxy.Addr()+"?recovery=1m", key, proxy)
}

// Without recovery the key is pub/sub and a stream URI parameter is refused
// by an adapter that cannot recover.
func TestRecoveryRefusedWithoutSupport(t *testing.T) {
	_, err := eventsync.Configure(eventsync.NewApp(), eventsync.Options{URI: "redis://127.0.0.1:1?recovery=bad"})
	if err == nil || !strings.Contains(err.Error(), "recovery must be a duration") {
		t.Fatalf("a bad recovery parameter: %v", err)
	}
}
