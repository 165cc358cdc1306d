package channels_test

import (
	"context"
	"fmt"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
)

// A hub routes service events to connections by channel: here "todos"
// events go to the room named in the record, and a connection joins a room.
func ExampleHub() {
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "notes", notes{})
	if err != nil {
		panic(err)
	}
	hub := channels.New(app, channels.Options{})
	defer hub.Close()
	hub.Publish("notes", func(ev eventsync.Event) []string { return []string{"room/" + ev.Data.(string)} })

	alice := hub.Connect(eventsync.Params{"user": "alice"})
	alice.Join("room/a")
	for _, room := range []string{"a", "b", "a"} {
		if _, err := svc.Create(context.Background(), room, nil); err != nil {
			panic(err)
		}
	}
	for range 2 {
		m := <-alice.Messages()
		fmt.Println(m.ID, m.Name, m.Event.Data)
	}
	// Output:
	// 1 notes created a
	// 3 notes created a
}
