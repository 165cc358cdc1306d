package main

import (
	_ "embed"
	"net/http"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/rest"
	"github.com/eventsync/eventsync/socketio"
)

//go:embed index.html
var indexHTML []byte

// newHandler serves the page, the app's services by Feathers' REST
// conventions and their live event stream (GET /events, every event to
// every browser), the same services and events to Feathers clients over
// Socket.IO (/socket.io/), and the health check of one replica. It also
// returns a function that ends the open event streams and sockets, for the
// server's RegisterOnShutdown: http.Server.Shutdown waits for them
// otherwise.
func newHandler(app *eventsync.App, s *eventsync.Sync) (http.Handler, func()) {
	api, err := rest.New(app, rest.Options{})
	if err != nil {
		panic(err) // no service at /events: a programming error
	}
	api.Hub().Publish("", channels.PublishAll)
	sockets, err := socketio.New(app, socketio.Options{Hub: api.Hub()}) // one hub: the same channels for both transports
	if err != nil {
		panic(err) // only a bad option makes it fail
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	mux.Handle("GET /healthz", s.Health())
	mux.Handle("/socket.io/", sockets)
	mux.Handle("/", api)
	return mux, func() {
		sockets.Close()
		api.Hub().Close()
	}
}
