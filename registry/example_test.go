package registry_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/registry"
)

type invoices struct{}

func (invoices) Get(ctx context.Context, id int, p eventsync.Params) (string, error) {
	return fmt.Sprint("invoice ", id), nil
}

// Two apps that hold different services find each other over the broker
// they share: the gateway waits for an instance that serves "invoices".
func ExampleJoin() {
	app := eventsync.NewApp()
	if _, err := eventsync.Use(app, "invoices", invoices{}); err != nil {
		panic(err)
	}
	billing, err := registry.Join(registry.Options{URI: "mem://example", App: "billing", Version: "1.0", From: app})
	if err != nil {
		panic(err)
	}
	defer billing.Close(context.Background())

	gateway, err := registry.Join(registry.Options{URI: "mem://example", App: "gateway"})
	if err != nil {
		panic(err)
	}
	defer gateway.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := gateway.WaitPath(ctx, "invoices")
	if err != nil {
		panic(err)
	}
	fmt.Println(m.App, m.Version, m.Services[0].Methods)
	// Output: billing 1.0 [get]
}

// Watch reports members coming and going; an observer is never listed.
func ExampleRegistry_Watch() {
	obs, err := registry.Join(registry.Options{URI: "mem://watch", Observe: true})
	if err != nil {
		panic(err)
	}
	defer obs.Close(context.Background())
	<-obs.Ready()
	changes := make(chan registry.Change, 4)
	obs.Watch(func(c registry.Change) { changes <- c })

	m, err := registry.Join(registry.Options{URI: "mem://watch", App: "worker", Instance: "w1"})
	if err != nil {
		panic(err)
	}
	fmt.Println((<-changes).Kind)
	m.Close(context.Background())
	c := <-changes
	fmt.Println(c.Kind, c.Reason, c.Member.Instance)
	// Output:
	// online
	// offline left w1
}

// Handler serves the members over HTTP and takes registrations from
// processes that cannot run the library.
func ExampleRegistry_Handler() {
	r, err := registry.Join(registry.Options{URI: "mem://http", App: "gateway", Instance: "g1"})
	if err != nil {
		panic(err)
	}
	defer r.Close(context.Background())
	srv := httptest.NewServer(r.Handler(registry.HandlerOptions{Token: "secret"}))
	defer srv.Close()
	fmt.Println("GET", srv.URL != "", "lists", len(r.Members()), "member")
	// Output: GET true lists 1 member
}
