package eventsync_test

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/memsync"
)

// Two replicas of one app on an in-process bus: a todo created on the first
// reaches the second's listener as a Todo. With a real broker only the URI
// changes ("redis://localhost:6379", "nats://localhost:4222", ...).
func Example() {
	ctx := context.Background()
	newReplica := func() (*eventsync.App, *eventsync.Sync) {
		app := eventsync.NewApp()
		eventsync.Use(app, "todos", &TodoService{}) // record type inferred: Todo
		s, err := eventsync.Configure(app, eventsync.Options{URI: "mem://example", Key: "myapp"})
		if err != nil {
			panic(err)
		}
		select {
		case <-s.Ready():
		case <-time.After(5 * time.Second):
			panic(s.Err())
		}
		return app, s
	}
	app1, s1 := newReplica()
	app2, s2 := newReplica()
	defer s1.Close(ctx)
	defer s2.Close(ctx)

	got := make(chan eventsync.Event, 1)
	app2.Service("todos").On("created", func(e eventsync.Event) { got <- e })
	titles := make(chan string, 1)
	eventsync.OnData(app2.Service("todos"), "created", func(t Todo, e eventsync.Event) { titles <- t.Title })

	app1.Service("todos").Create(ctx, Todo{Title: "buy milk"}, nil)
	e := <-got
	todo := e.Data.(Todo) // the same Go type on every replica
	fmt.Println(e.Name, todo.Title, e.Remote)
	fmt.Println("typed listener:", <-titles)
	// Output:
	// created buy milk true
	// typed listener: buy milk
}

// A before hook turns sync off for calls from internal jobs; WithoutSync does
// the same for one call.
func ExampleWithoutSync() {
	ctx := context.Background()
	app := eventsync.NewApp()
	todos, _ := eventsync.Use(app, "todos", &TodoService{})
	todos.Hooks(eventsync.Hooks{Before: []eventsync.Hook{
		func(ctx context.Context, hc *eventsync.HookContext) error {
			if hc.Params["provider"] == nil { // an internal call, not from a client
				hc.Sync = false
			}
			return nil
		},
	}})
	s, _ := eventsync.Configure(app, eventsync.Options{URI: "mem://nosync-example"})
	defer s.Close(ctx)
	<-s.Ready()

	todos.On("created", func(e eventsync.Event) { fmt.Println(e.Data.(Todo).Title, "synced:", e.Sync) })
	todos.Create(ctx, Todo{Title: "internal"}, nil)
	todos.Create(ctx, Todo{Title: "from client"}, eventsync.Params{"provider": "rest"})
	todos.Create(eventsync.WithoutSync(ctx), Todo{Title: "one-off"}, eventsync.Params{"provider": "rest"})
	// Output:
	// internal synced: false
	// from client synced: true
	// one-off synced: false
}

// busEmitter is another program's event bus adapted to eventsync.Emitter:
// the Sync needs only Intercept, Dispatch and DataType.
type busEmitter struct {
	intercept func(*eventsync.Event) bool
	listeners []func(eventsync.Event)
}

func (b *busEmitter) Intercept(fn func(*eventsync.Event) bool) (func(), error) {
	b.intercept = fn
	return func() { b.intercept = nil }, nil
}

func (b *busEmitter) Dispatch(ev eventsync.Event) error {
	for _, l := range b.listeners {
		l(ev)
	}
	return nil
}

func (b *busEmitter) DataType(path, event string) (reflect.Type, error) {
	return reflect.TypeFor[Todo](), nil
}

func (b *busEmitter) emit(path, event string, data any) {
	ev := eventsync.Event{Name: event, Path: path, Data: data, Sync: true}
	if b.intercept != nil && b.intercept(&ev) {
		return
	}
	b.Dispatch(ev)
}

// Any event bus can be synced by implementing the three methods of Emitter.
func Example_customEmitter() {
	ctx := context.Background()
	a, b := &busEmitter{}, &busEmitter{}
	sa, _ := eventsync.Configure(a, eventsync.Options{URI: "mem://custom-emitter"})
	sb, _ := eventsync.Configure(b, eventsync.Options{URI: "mem://custom-emitter"})
	defer sa.Close(ctx)
	defer sb.Close(ctx)
	<-sa.Ready()
	<-sb.Ready()
	got := make(chan eventsync.Event, 1)
	b.listeners = append(b.listeners, func(e eventsync.Event) { got <- e })
	a.emit("todos", "created", Todo{ID: 1, Title: "from another bus"})
	fmt.Println((<-got).Data.(Todo).Title)
	// Output: from another bus
}

// pipelinedBus is an adapter whose Publish is a write followed by a wait
// for the broker: it implements eventsync.Pipeliner so that the Sync can
// write the next batches while the last ones are confirmed. Here the
// "broker" is an in-process bus, which has everything once Send returns.
type pipelinedBus struct {
	eventsync.Adapter
	confirms atomic.Int64
}

// Send writes the batch without waiting for the broker.
func (p *pipelinedBus) Send(ctx context.Context, msgs ...[]byte) error {
	return p.Adapter.Publish(ctx, msgs...)
}

// Confirm waits until the broker has everything sent before it (a flush
// round trip on NATS).
func (p *pipelinedBus) Confirm(ctx context.Context) error {
	p.confirms.Add(1)
	return nil
}

// An adapter that can split publishing into Send and Confirm: the Sync
// counts events as published once confirmed.
func Example_pipeliner() {
	ctx := context.Background()
	bus := memsync.Named("pipelined-example")
	pub := &pipelinedBus{Adapter: memsync.New(bus, "myapp")}
	app1, app2 := eventsync.NewApp(), eventsync.NewApp()
	svc1, _ := eventsync.Use(app1, "todos", &TodoService{})
	svc2, _ := eventsync.Use(app2, "todos", &TodoService{})
	s1, _ := eventsync.Configure(app1, eventsync.Options{Adapter: pub})
	s2, _ := eventsync.Configure(app2, eventsync.Options{Adapter: memsync.New(bus, "myapp")})
	<-s1.Ready()
	<-s2.Ready()
	got := make(chan string, 3)
	svc2.On("created", func(e eventsync.Event) { got <- e.Data.(Todo).Title })
	for _, title := range []string{"a", "b", "c"} {
		svc1.Create(ctx, Todo{Title: title}, nil)
	}
	fmt.Println(<-got, <-got, <-got)
	s1.Close(ctx) // waits for the last Confirm
	s2.Close(ctx)
	fmt.Println("published:", s1.Stats().Published, "confirmed:", pub.confirms.Load() > 0)
	// Output:
	// a b c
	// published: 3 confirmed: true
}

// Declaring the record type with RecordType lets the service's methods be
// called without reflection (here Create, Get, Update and Remove, which take
// Todo and an int id; Patch takes a map and still goes through reflection).
func ExampleRecordType() {
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "todos", &TodoService{}, eventsync.RecordType[Todo]())
	if err != nil {
		panic(err)
	}
	created, _ := svc.Create(context.Background(), Todo{Title: "buy milk"}, nil)
	got, _ := svc.Get(context.Background(), created.(Todo).ID, nil)
	fmt.Println(svc.RecordType(), got.(Todo).Title)
	// Output: eventsync_test.Todo buy milk
}
