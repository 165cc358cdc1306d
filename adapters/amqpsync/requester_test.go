package amqpsync_test

import (
	"context"
	"testing"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
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
