package redissync_test

import (
	"context"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/redissync"
)

// An adapter on a go-redis client the application already configured (a
// Cluster or Sentinel client works too); most apps pass a URI instead:
// eventsync.Options{URI: "redis://localhost:6379"}. (Not run: it needs Redis.)
func ExampleNew() {
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer client.Close()
	app := eventsync.NewApp()
	s, err := eventsync.Configure(app, eventsync.Options{Adapter: redissync.New(client, "todo-app")})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(context.Background())
	<-s.Ready()
}
