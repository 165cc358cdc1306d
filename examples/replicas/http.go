package main

import (
	_ "embed"
	"net/http"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/rest"
)

//go:embed index.html
var indexHTML []byte

// newHandler serves the page, the app's services by Feathers' REST
// conventions and their live event stream (GET /events, every event to
// every browser), and the health check of one replica. It also returns a
// function that ends the open event streams, for the server's
// RegisterOnShutdown: http.Server.Shutdown waits for them otherwise.
func newHandler(app *eventsync.App, s *eventsync.Sync) (http.Handler, func()) {
	api, err := rest.New(app, rest.Options{})
	if err != nil {
		panic(err) // no service at /events: a programming error
	}
	api.Hub().Publish("", channels.PublishAll)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	mux.Handle("GET /healthz", s.Health())
	mux.Handle("/", api)
	return mux, api.Hub().Close
}
