package memsync_test

import (
	"context"
	"fmt"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/memsync"
)

type Note struct {
	Text string `json:"text"`
}

type notes struct{}

func (notes) Create(ctx context.Context, n Note, p eventsync.Params) (Note, error) { return n, nil }

// Replicas in one process share a Bus: a unit test of an app's sync needs
// no broker. The URI form is mem://NAME.
func ExampleNew() {
	bus := memsync.Named("example")
	ctx := context.Background()
	var apps []*eventsync.App
	for range 2 {
		app := eventsync.NewApp()
		eventsync.Use(app, "notes", notes{})
		s, err := eventsync.Configure(app, eventsync.Options{Adapter: memsync.New(bus, "notes-app")})
		if err != nil {
			panic(err)
		}
		defer s.Close(ctx)
		<-s.Ready()
		apps = append(apps, app)
	}
	got := make(chan eventsync.Event, 1)
	apps[1].Service("notes").On("created", func(e eventsync.Event) { got <- e })
	apps[0].Service("notes").Create(ctx, Note{Text: "hello"}, nil)
	fmt.Println((<-got).Data.(Note).Text)
	// Output: hello
}
