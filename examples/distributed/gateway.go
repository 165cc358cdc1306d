package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/rest"
)

//go:embed index.html
var indexHTML []byte

// Gateway serves, on a gateway node, the services of every app it
// discovers at /api/<path> (REST, Feathers' conventions), writes only with
// the bearer token, and a page that lists the live members and creates
// users through the API. It returns the handler and a function that stops
// discovering.
func Gateway(n *Node, token string) (http.Handler, func()) {
	stop := n.Remote.ProxyAll()
	n.App.Hooks(eventsync.Hooks{Before: []eventsync.Hook{func(ctx context.Context, hc *eventsync.HookContext) error {
		if hc.Method == eventsync.MethodFind || hc.Method == eventsync.MethodGet || hc.Params["provider"] != "rest" {
			return nil
		}
		if hc.Params["token"] != token {
			return eventsync.NotAuthenticated("writes need the gateway's bearer token")
		}
		return nil
	}}})
	api, err := rest.New(n.App, rest.Options{Params: func(r *http.Request, p eventsync.Params) error {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			p["token"] = tok // checked by the hook above; not among the params that travel
		}
		return nil
	}})
	if err != nil {
		panic(err) // no service at /events: a programming error
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))
	mux.HandleFunc("GET /members", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(n.Reg.Members())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	return mux, stop
}
