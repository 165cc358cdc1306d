package amqpsync_test

import (
	"context"
	"log"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/amqpsync"
)

// A fleet of eventsync replicas only (no feathers-sync replica on the key)
// packs each batch into one AMQP message; the URI form is
// amqp://guest:guest@localhost:5672/?pack=true. (Not run: it needs RabbitMQ.)
func ExampleDial() {
	app := eventsync.NewApp()
	adapter := amqpsync.Dial("amqp://guest:guest@localhost:5672/", "myapp", amqpsync.Config{Pack: true})
	s, err := eventsync.Configure(app, eventsync.Options{Adapter: adapter})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(context.Background())
	<-s.Ready()
}
