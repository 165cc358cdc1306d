// Package rest serves an eventsync App over HTTP by Feathers' REST
// conventions, with Feathers' error JSON:
//
//	GET    /path        find     200
//	GET    /path/{id}   get      200
//	POST   /path        create   201
//	PUT    /path/{id}   update   200
//	PATCH  /path/{id}   patch    200
//	DELETE /path/{id}   remove   200
//
// Service paths may contain "/" (api/v1/todos): the longest registered path
// that prefixes the request's wins, and what follows it is the id. The
// query string becomes params["query"] (see Query), params["provider"] is
// "rest"; an id converts to the method's id type (ints, strings, floats,
// types with UnmarshalText; anything else is a 400), a body decodes into its
// data type. PATCH and DELETE without an id, and a create with an array,
// answer 405 unless the service is listed in Options.Multi, as in
// Feathers 5. Hooks see the response in hc.HTTP and may set its status
// and headers.
//
// GET /events (Options.Events) is a server-sent event stream of the App's
// service events, local and synced, custom ones included, routed by
// package channels: each message has the event name "<path> <event>"
// (Feathers' socket event name, "todos created"), an id, and as data
// {"data": <the event's data>, "origin": ..., "remote": ...}. A client that
// reconnects with Last-Event-ID gets what it missed from the hub's history,
// or the event "fell-behind". Nothing is streamed until the hub has a
// publish function (Handler.Hub().Publish("", channels.PublishAll) sends
// everything to everyone).
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/internal/callargs"
)

// DefaultMaxBodyBytes bounds a request body unless Options says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Options configure a Handler. The zero value is usable.
type Options struct {
	// Params, if set, sees every request before its call and may set params
	// (the user, the authentication): headers are not copied into params
	// otherwise. An error it returns answers the request (through
	// eventsync.AsError: return eventsync.NotAuthenticated(...) for a 401).
	Params func(r *http.Request, params eventsync.Params) error
	// Multi lists the service paths that take patch and remove without an
	// id and create with an array (Feathers 5's multi option).
	Multi []string
	// MaxBodyBytes bounds a request body; default 1 MiB. Larger: 413.
	MaxBodyBytes int64
	// Logger receives what a client is not told: the causes of 500s.
	Logger *slog.Logger

	// Events is the path of the server-sent event stream of the App's
	// service events; default "events". A service at that path is an
	// error in New.
	Events string
	// Hub routes events to the stream's connections; default a new one,
	// which sends nothing until given a publish function (Handler.Hub).
	Hub *channels.Hub
	// OnConnect, if set, sees every new stream connection (after Params)
	// and joins it to channels; an error answers the request.
	OnConnect func(r *http.Request, c *channels.Conn) error
	// KeepAlive is how often an idle stream gets a comment; default 15 s.
	KeepAlive time.Duration
}

// Handler serves an App's services.
type Handler struct {
	app    *eventsync.App
	opts   Options
	multi  map[string]bool
	hub    *channels.Hub
	events string          // the stream's path, trimmed
	frames channels.Frames // encoded stream messages
}

// New returns a handler for app's services, those registered later
// included.
func New(app *eventsync.App, opts Options) (*Handler, error) {
	if app == nil {
		return nil, errors.New("rest: nil app")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Events == "" {
		opts.Events = "events"
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 15 * time.Second
	}
	h := &Handler{app: app, opts: opts, multi: make(map[string]bool), hub: opts.Hub, events: strings.Trim(opts.Events, "/")}
	h.frames.Encode = encodeFrame
	if slices.Contains(app.Paths(), h.events) {
		return nil, fmt.Errorf("rest: the event stream's path %q is a service's", h.events)
	}
	if h.hub == nil {
		h.hub = channels.New(app, channels.Options{Logger: opts.Logger})
	}
	for _, p := range opts.Multi {
		h.multi[strings.Trim(p, "/")] = true
	}
	return h, nil
}

// Hub returns the hub of the event stream, to set publish functions on.
func (h *Handler) Hub() *channels.Hub { return h.hub }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.Trim(r.URL.Path, "/") == h.events {
		h.serveEvents(w, r)
		return
	}
	resp := &eventsync.HTTPResponse{Header: make(http.Header)}
	result, status, err := h.serveRecovered(eventsync.WithHTTP(r.Context(), resp), r)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if resp.Status != 0 {
		status = resp.Status
	}
	writeJSON(w, status, result)
}

// serve routes r to its service call and returns the result and status.
func (h *Handler) serve(ctx context.Context, r *http.Request) (any, int, error) {
	svc, rawID, hasID := h.route(r.URL)
	if svc == nil {
		return nil, 0, eventsync.NotFound(fmt.Sprintf("no service at %s", r.URL.Path))
	}
	params := eventsync.Params{"query": Query(r.URL.Query()), "provider": "rest"}
	if f := h.opts.Params; f != nil {
		if err := f(r, params); err != nil {
			return nil, 0, err
		}
	}
	method, err := h.method(r.Method, svc.Path(), hasID)
	if err != nil {
		return nil, 0, err
	}
	idType, dataType, ok := svc.ArgTypes(method)
	if !ok {
		return nil, 0, eventsync.MethodNotAllowed(fmt.Sprintf("%s does not implement %s", svc.Path(), method))
	}
	var id any
	if hasID {
		if id, err = callargs.ParseID(rawID, idType); err != nil {
			return nil, 0, err
		}
	}
	var data any
	if dataType != nil {
		if data, err = h.body(r, dataType, method == eventsync.MethodCreate && h.multi[svc.Path()]); err != nil {
			return nil, 0, err
		}
	}
	status := http.StatusOK
	if method == eventsync.MethodCreate {
		status = http.StatusCreated
	}
	if list, ok := data.([]any); ok && method == eventsync.MethodCreate {
		out := make([]any, 0, len(list))
		for _, d := range list {
			res, err := svc.Create(ctx, d, params)
			if err != nil {
				return nil, 0, err
			}
			out = append(out, res)
		}
		return out, status, nil
	}
	res, err := svc.Call(ctx, method, id, data, params)
	return res, status, err
}

// serveRecovered is serve, with a panicking service or hook answered as a
// 500 (and logged) instead of a dropped connection.
func (h *Handler) serveRecovered(ctx context.Context, r *http.Request) (result any, status int, err error) {
	defer func() {
		if p := recover(); p != nil {
			result, status, err = nil, 0, fmt.Errorf("rest: panic: %v", p)
		}
	}()
	return h.serve(ctx, r)
}

// route finds the service whose path is the longest prefix of the URL's,
// and the id after it.
func (h *Handler) route(u *url.URL) (svc *eventsync.Service, id string, hasID bool) {
	p := strings.Trim(u.Path, "/")
	best := ""
	for _, path := range h.app.Paths() {
		if len(path) > len(best) && (p == path || strings.HasPrefix(p, path+"/")) {
			best = path
		}
	}
	if best == "" {
		return nil, "", false
	}
	id = strings.TrimPrefix(strings.TrimPrefix(p, best), "/") // u.Path is unescaped: an id may hold "/" as %2F
	return h.app.Service(best), id, id != ""
}

// method maps an HTTP method to a service method, by Feathers' rules.
func (h *Handler) method(verb, path string, hasID bool) (string, error) {
	multi := h.multi[path]
	switch {
	case verb == http.MethodGet && hasID:
		return eventsync.MethodGet, nil
	case verb == http.MethodGet:
		return eventsync.MethodFind, nil
	case verb == http.MethodPost && !hasID:
		return eventsync.MethodCreate, nil
	case verb == http.MethodPut && hasID:
		return eventsync.MethodUpdate, nil
	case verb == http.MethodPatch && (hasID || multi):
		return eventsync.MethodPatch, nil
	case verb == http.MethodDelete && (hasID || multi):
		return eventsync.MethodRemove, nil
	}
	what := verb + " " + path
	if hasID {
		what += "/{id}"
	}
	return "", eventsync.MethodNotAllowed(what + " is not allowed")
}

// body decodes the request body into a new value of t; with list, a JSON
// array decodes into a []any of such values.
func (h *Handler) body(r *http.Request, t reflect.Type, list bool) (any, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, eventsync.PayloadTooLarge(fmt.Sprintf("body over %d bytes", h.opts.MaxBodyBytes))
		}
		return nil, eventsync.BadRequest("cannot read the body")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, eventsync.BadRequest("a JSON body is required")
	}
	if raw[0] == '[' && t.Kind() != reflect.Slice && t.Kind() != reflect.Interface {
		if !list {
			return nil, eventsync.MethodNotAllowed("creating several records at once is not allowed here")
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, eventsync.BadRequest("malformed JSON: " + err.Error())
		}
		out := make([]any, 0, len(items))
		for _, item := range items {
			v, err := callargs.DecodeJSON(item, t)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return callargs.DecodeJSON(raw, t)
}

// writeError answers with err as Feathers' error JSON; what a 500 hides
// from the client goes to the log.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := eventsync.AsError(err)
	if e.Code >= 500 && e.Cause != nil {
		h.opts.Logger.Error("rest: service call failed", "method", r.Method, "path", r.URL.Path, "err", e.Cause)
	}
	if e.Code == http.StatusMethodNotAllowed && w.Header().Get("Allow") == "" {
		w.Header().Set("Allow", "GET, POST, PUT, PATCH, DELETE")
	}
	writeJSON(w, e.Code, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"name":"GeneralError","message":"cannot encode the result","code":500,"className":"general-error"}`), 500
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
