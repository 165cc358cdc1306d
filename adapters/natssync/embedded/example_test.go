package embedded_test

import (
	"context"
	"fmt"

	"github.com/eventsync/eventsync"
	_ "github.com/eventsync/eventsync/adapters/natssync" // registers nats://
	"github.com/eventsync/eventsync/adapters/natssync/embedded"
)

type Todo struct {
	Title string `json:"title"`
}

type todos struct{}

func (todos) Create(ctx context.Context, t Todo, p eventsync.Params) (Todo, error) { return t, nil }

// Two replicas of an app, in one process here, kept in step through a NATS
// server that runs inside the process: nothing else needs to run.
func ExampleStart() {
	srv, err := embedded.Start(embedded.Options{})
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown()

	ctx := context.Background()
	replica := func() (*eventsync.App, *eventsync.Sync) {
		app := eventsync.NewApp()
		eventsync.Use(app, "todos", todos{})
		s, err := eventsync.Configure(app, eventsync.Options{URI: srv.URL(), Key: "todo-app"})
		if err != nil {
			panic(err)
		}
		<-s.Ready()
		return app, s
	}
	one, s1 := replica()
	two, s2 := replica()
	defer s1.Close(ctx)
	defer s2.Close(ctx)

	got := make(chan eventsync.Event, 1)
	two.Service("todos").On("created", func(e eventsync.Event) { got <- e })
	one.Service("todos").Create(ctx, Todo{Title: "buy milk"}, nil)
	e := <-got
	fmt.Println(e.Data.(Todo).Title, "remote:", e.Remote)
	// Output: buy milk remote: true
}
