package amqpsync_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/brokertest"
)

func TestRequester(t *testing.T) {
	u := amqpURL(t)
	adaptertest.RunRequester(t, func(t *testing.T, key string) eventsync.Adapter {
		a, err := eventsync.Open(context.Background(), u, key)
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
}

// A served address outlives a broken connection: once the adapter is
// back, requests reach it again.
func TestServeSurvivesReconnect(t *testing.T) {
	u := amqpURL(t)
	parsed, _ := url.Parse(u)
	proxy := brokertest.NewProxy(t, parsed.Host)
	viaProxy := *parsed
	viaProxy.Host = proxy.Addr()
	key := adaptertest.UniqueKey("rr-reconnect")
	ctx := context.Background()
	server, err := eventsync.Open(ctx, viaProxy.String(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close(ctx)
	caller, err := eventsync.Open(ctx, u, key)
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close(ctx)
	if _, err := server.(eventsync.Requester).Serve(ctx, "s", func(_ context.Context, req []byte) []byte { return req }); err != nil {
		t.Fatal(err)
	}
	request := func() error {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := caller.(eventsync.Requester).Request(rctx, "s", []byte("x"))
		return err
	}
	if err := request(); err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	time.AfterFunc(500*time.Millisecond, proxy.Restore)
	deadline := time.Now().Add(15 * time.Second)
	for request() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the address was not served again after the connection came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
