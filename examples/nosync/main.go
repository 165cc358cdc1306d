// Command nosync shows the three ways to keep an event on its own replica:
// a hook that turns sync off for one method, a hook that turns it off for
// internal calls (no provider), and WithoutSync on a single call.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/eventsync/eventsync"
	_ "github.com/eventsync/eventsync/adapters/memsync"
)

// Message is the record of the "messages" service.
type Message struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
}

// Messages echoes what it is given.
type Messages struct{}

// Create returns m.
func (Messages) Create(ctx context.Context, m Message, p eventsync.Params) (Message, error) {
	return m, nil
}

// Patch returns m with the id.
func (Messages) Patch(ctx context.Context, id int, m Message, p eventsync.Params) (Message, error) {
	m.ID = id
	return m, nil
}

// localPatches keeps every patch local: say patches are frequent cursor moves
// that other replicas do not need.
func localPatches(ctx context.Context, hc *eventsync.HookContext) error {
	if hc.Method == eventsync.MethodPatch {
		hc.Sync = false
	}
	return nil
}

// localInternalCalls keeps the events of calls that no client made (no
// provider param: a job, a migration) local.
func localInternalCalls(ctx context.Context, hc *eventsync.HookContext) error {
	if hc.Params["provider"] == nil {
		hc.Sync = false
	}
	return nil
}

func newReplica(ctx context.Context) (*eventsync.App, *eventsync.Sync, error) {
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "messages", Messages{})
	if err != nil {
		return nil, nil, err
	}
	svc.Hooks(eventsync.Hooks{Before: []eventsync.Hook{localPatches, localInternalCalls}})
	s, err := eventsync.Configure(app, eventsync.Options{URI: "mem://nosync"})
	if err != nil {
		return nil, nil, err
	}
	select {
	case <-s.Ready():
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	return app, s, nil
}

// run creates messages on replica 1 in each way and prints what each
// replica saw.
func run(out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	app1, s1, err := newReplica(ctx)
	if err != nil {
		return err
	}
	defer s1.Close(ctx)
	app2, s2, err := newReplica(ctx)
	if err != nil {
		return err
	}
	defer s2.Close(ctx)

	remote := make(chan Message, 10)
	app2.Service("messages").On("created", func(e eventsync.Event) { remote <- e.Data.(Message) })
	app2.Service("messages").On("patched", func(e eventsync.Event) { remote <- e.Data.(Message) })
	app1.Service("messages").On("created", func(e eventsync.Event) {
		fmt.Fprintf(out, "replica 1 saw %q (synced: %v)\n", e.Data.(Message).Text, e.Sync)
	})
	app1.Service("messages").On("patched", func(e eventsync.Event) {
		fmt.Fprintf(out, "replica 1 saw %q (synced: %v)\n", e.Data.(Message).Text, e.Sync)
	})

	client := eventsync.Params{"provider": "rest"}
	msgs := app1.Service("messages")
	steps := []func() error{
		func() error { _, err := msgs.Create(ctx, Message{ID: 1, Text: "internal job"}, nil); return err },
		func() error { _, err := msgs.Patch(ctx, 1, Message{Text: "cursor move"}, client); return err },
		func() error {
			_, err := msgs.Create(eventsync.WithoutSync(ctx), Message{ID: 2, Text: "one-off local"}, client)
			return err
		},
		func() error { _, err := msgs.Create(ctx, Message{ID: 3, Text: "from a client"}, client); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	// Only the last one is synced; per-publisher order means that when it
	// arrives, nothing before it is still on the way.
	select {
	case m := <-remote:
		fmt.Fprintf(out, "replica 2 saw %q\n", m.Text)
		if len(remote) > 0 {
			return fmt.Errorf("replica 2 saw more than one event")
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "nosync:", err)
		os.Exit(1)
	}
}
