package eventsync

import (
	"context"
	"net/http"
	"slices"
)

// Method names as they appear in HookContext.Method and on the wire.
const (
	MethodFind   = "find"
	MethodGet    = "get"
	MethodCreate = "create"
	MethodUpdate = "update"
	MethodPatch  = "patch"
	MethodRemove = "remove"
)

// Hook types as they appear in HookContext.Type.
const (
	HookBefore = "before"
	HookAfter  = "after"
	HookError  = "error"
)

// Params are the free-form parameters of a service call, like Feathers' params:
// "query", "provider", "user" and whatever the application adds. Only the keys
// in the Sync's export allowlist ever leave the process.
type Params map[string]any

// HookContext describes one service call as it passes through hooks, and is
// attached to the service event the call emits.
type HookContext struct {
	App     *App
	Service *Service
	Path    string
	Method  string // one of the Method constants
	Type    string // HookBefore, HookAfter or HookError; on synced events, what the origin sent
	ID      any
	Data    any
	Params  Params
	Result  any
	Error   error  // set for error hooks; an error hook may replace or clear it
	Event   string // the event the call will emit; a hook may set "" to emit none
	// Sync is true on every call unless the call's context carries WithoutSync.
	// A before or after hook sets it false to keep this call's event local:
	// listeners on this replica still fire, nothing is published.
	Sync bool
	// HTTP, for a call that came over HTTP (see WithHTTP), is the response
	// a hook may shape, as Feathers' context.http: its status and headers.
	// Nil otherwise. It is not synced.
	HTTP *HTTPResponse
}

// HTTPResponse is what hooks may set of an HTTP call's response.
type HTTPResponse struct {
	Status int         // 0: the transport's default (200, or 201 for create)
	Header http.Header // added to the response's headers
}

type httpKey struct{}

// WithHTTP returns a context whose service calls have hc.HTTP = resp, so
// that their hooks can set the response's status and headers. The REST
// transport calls it; so can any other HTTP handler that calls services.
func WithHTTP(ctx context.Context, resp *HTTPResponse) context.Context {
	return context.WithValue(ctx, httpKey{}, resp)
}

func httpResponse(ctx context.Context) *HTTPResponse {
	r, _ := ctx.Value(httpKey{}).(*HTTPResponse)
	return r
}

// HTTPFrom returns the response a transport passed with WithHTTP, or nil
// outside an HTTP request: a service sets headers through it.
func HTTPFrom(ctx context.Context) *HTTPResponse { return httpResponse(ctx) }

// Hook runs before, after or on error of a service call. Returning an error
// aborts the call (before and after hooks) and runs the error hooks.
type Hook func(ctx context.Context, hc *HookContext) error

// Hooks groups hooks by when they run. Hooks run in slice order; app-wide
// before hooks run before the service's, and app-wide after and error hooks
// run after the service's, as in Feathers.
type Hooks struct {
	Before []Hook
	After  []Hook
	Error  []Hook
}

// with returns h followed by o, sharing no memory with h: a call that read h
// before keeps seeing it whole.
func (h Hooks) with(o Hooks) Hooks {
	return Hooks{
		Before: slices.Concat(h.Before, o.Before),
		After:  slices.Concat(h.After, o.After),
		Error:  slices.Concat(h.Error, o.Error),
	}
}

type noSyncKey struct{}

// WithoutSync returns a context that keeps the events of calls (and custom
// events) made with it local: listeners on this replica fire, nothing is
// published to other replicas.
func WithoutSync(ctx context.Context) context.Context {
	return context.WithValue(ctx, noSyncKey{}, true)
}

// SyncEnabled reports whether ctx allows events to propagate, that is, whether
// it was not derived from WithoutSync.
func SyncEnabled(ctx context.Context) bool {
	off, _ := ctx.Value(noSyncKey{}).(bool)
	return !off
}
