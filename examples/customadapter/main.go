package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/eventsync/eventsync"
)

// Todo is the demo's record.
type Todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
}

// Todos is a service whose Create echoes its input.
type Todos struct{}

// Create returns t.
func (Todos) Create(ctx context.Context, t Todo, p eventsync.Params) (Todo, error) { return t, nil }

// main runs two replicas over the pgsync adapter: a todo created on one
// reaches the other.
func main() {
	uri := flag.String("uri", "pgsync://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL URI with the pgsync scheme")
	flag.Parse()
	if err := run(*uri); err != nil {
		fmt.Fprintln(os.Stderr, "customadapter:", err)
		os.Exit(1)
	}
}

func run(uri string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var apps []*eventsync.App
	for range 2 {
		app := eventsync.NewApp()
		eventsync.Use(app, "todos", Todos{})
		s, err := eventsync.Configure(app, eventsync.Options{URI: uri, Key: "customadapter-demo"})
		if err != nil {
			return err
		}
		defer s.Close(context.Background())
		select {
		case <-s.Ready():
		case <-ctx.Done():
			return fmt.Errorf("not ready: %v", s.Err())
		}
		apps = append(apps, app)
	}
	got := make(chan Todo, 1)
	apps[1].Service("todos").On("created", func(e eventsync.Event) { got <- e.Data.(Todo) })
	if _, err := apps[0].Service("todos").Create(ctx, Todo{ID: 1, Title: "sent over LISTEN/NOTIFY"}, nil); err != nil {
		return err
	}
	select {
	case t := <-got:
		fmt.Printf("replica 2 received: %+v\n", t)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
