package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/eventsync/eventsync"
)

//go:embed index.html
var indexHTML []byte

// newHandler serves the page, the JSON API and the live event stream of one
// replica. The stream ends when the server shuts down.
func newHandler(app *eventsync.App, s *eventsync.Sync, shutdown <-chan struct{}) http.Handler {
	todos := app.Service("todos")
	mux := http.NewServeMux()
	rest := eventsync.Params{"provider": "rest"}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	mux.HandleFunc("GET /todos", func(w http.ResponseWriter, r *http.Request) {
		list, err := todos.Find(r.Context(), rest)
		reply(w, list, err)
	})
	mux.HandleFunc("POST /todos", func(w http.ResponseWriter, r *http.Request) {
		var t Todo
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&t); err != nil {
			http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		created, err := todos.Create(r.Context(), t, rest)
		reply(w, created, err)
	})
	mux.HandleFunc("PATCH /todos/{id}", func(w http.ResponseWriter, r *http.Request) {
		var patch map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&patch); err != nil {
			http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		id, _ := strconv.Atoi(r.PathValue("id"))
		patched, err := todos.Patch(r.Context(), id, patch, rest)
		reply(w, patched, err)
	})
	mux.HandleFunc("DELETE /todos/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		removed, err := todos.Remove(r.Context(), id, rest)
		reply(w, removed, err)
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		streamEvents(w, r, todos, shutdown)
	})
	mux.Handle("GET /healthz", s.Health())
	return mux
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case errors.Is(err, errNotFound):
		w.WriteHeader(http.StatusNotFound)
		v = map[string]string{"error": err.Error()}
	case err != nil:
		w.WriteHeader(http.StatusBadRequest)
		v = map[string]string{"error": err.Error()}
	}
	json.NewEncoder(w).Encode(v)
}

// liveEvent is what the page receives for each service event.
type liveEvent struct {
	Todo   Todo   `json:"todo"`
	Origin string `json:"origin"`
	Remote bool   `json:"remote"`
}

// streamEvents sends the service's events to the browser as server-sent events.
func streamEvents(w http.ResponseWriter, r *http.Request, todos *eventsync.Service, shutdown <-chan struct{}) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	events := make(chan eventsync.Event, 64)
	for _, name := range []string{"created", "patched", "removed"} {
		off := todos.On(name, func(e eventsync.Event) {
			select {
			case events <- e:
			default: // a browser that cannot keep up misses events rather than blocking the app
			}
		})
		defer off()
	}
	fmt.Fprint(w, ": connected\n\n")
	flusher.Flush()
	for {
		select {
		case e := <-events:
			b, _ := json.Marshal(liveEvent{Todo: e.Data.(Todo), Origin: e.Origin, Remote: e.Remote})
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Name, b)
			flusher.Flush()
		case <-r.Context().Done():
			return
		case <-shutdown:
			return
		}
	}
}
