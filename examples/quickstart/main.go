// Quickstart is the README's quick start: one replica on the in-memory
// broker prints the todo it creates, as every replica on the key would.
package main

import (
	"context"
	"fmt"

	"github.com/eventsync/eventsync"
	_ "github.com/eventsync/eventsync/adapters/memsync" // registers mem://
)

// Todo is the record type of the "todos" service.
type Todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
}

// TodoService stores nothing; it numbers the todos it creates.
type TodoService struct{ next int }

// Create numbers t; the App then emits "created" with it.
func (s *TodoService) Create(ctx context.Context, t Todo, p eventsync.Params) (Todo, error) {
	s.next++
	t.ID = s.next
	return t, nil
}

func main() {
	ctx := context.Background()
	app := eventsync.NewApp()
	eventsync.Use(app, "todos", &TodoService{}) // record type inferred: Todo
	s, err := eventsync.Configure(app, eventsync.Options{URI: "mem://demo", Key: "myapp"})
	if err != nil {
		panic(err)
	}
	<-s.Ready()        // the subscription is live
	defer s.Close(ctx) // flushes what is still queued

	app.Service("todos").On("created", func(e eventsync.Event) {
		todo := e.Data.(Todo) // the same Go type on every replica
		fmt.Println("created", todo.Title, "remote:", e.Remote)
	})
	app.Service("todos").Create(ctx, Todo{Title: "buy milk"}, nil)
}
