// Package readme holds the README's Go code that is not a whole program,
// inside functions that give it what it uses, so that the build keeps it
// compiling; its test checks that the README still shows it verbatim.
package readme

import (
	"context"
	"log"
	"net/http"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/registry"
	"github.com/eventsync/eventsync/remote"
	"github.com/eventsync/eventsync/rest"
	"github.com/eventsync/eventsync/socketio"
)

func restAndSocketIO(app *eventsync.App, userOf func(*http.Request) string, joinByToken func(context.Context, socketio.Handshake, *channels.Conn) error) error {
	api, err := rest.New(app, rest.Options{
		Params:    func(r *http.Request, p eventsync.Params) error { p["user"] = userOf(r); return nil },
		OnConnect: func(r *http.Request, c *channels.Conn) error { c.Join("room/" + r.URL.Query().Get("room")); return nil },
	})
	api.Hub().Publish("", channels.PublishAll) // or per service: which channels get an event
	http.ListenAndServe(":8080", api)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	sockets, err := socketio.New(app, socketio.Options{Hub: api.Hub(), OnConnect: joinByToken})
	mux.Handle("/socket.io/", sockets)
	return err
}

// Account is the billing app's record.
type Account struct {
	ID    int    `json:"id"`
	Owner string `json:"owner"`
}

func remoteShop(ctx context.Context, app *eventsync.App, uri string) (Account, error) {
	// In the shop app; the billing app runs accounts and a Remote of its own.
	reg, err := registry.Join(registry.Options{URI: uri, Key: "apps", App: "shop", From: app})
	rem, err := remote.New(app, remote.Options{Registry: reg, URI: uri, Key: "apps"})
	accounts, err := remote.Use[Account](rem, "accounts") // a typed proxy
	acct, err := accounts.Get(ctx, 7, nil)                // served by a live billing instance
	a, _ := acct.(Account)
	return a, err
}

func registryJoin(ctx context.Context, app *eventsync.App, uri string) error {
	reg, err := registry.Join(registry.Options{URI: uri, Key: "myapp", App: "billing", Version: "1.4", From: app})
	defer reg.Close(ctx)                    // peers see "offline (left)" at once
	m, err := reg.WaitPath(ctx, "invoices") // a live instance holding that service
	// Changes: online, offline (left or expired), changed.
	reg.Watch(func(c registry.Change) { log.Println(c.Kind, c.Reason, c.Member.App) })
	_ = m
	return err
}
