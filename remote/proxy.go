package remote

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/eventsync/eventsync"
)

// Use registers on the App a proxy service for path, whose record type T
// the consumer declares: calls go to the live instances of other apps that
// serve path, and results come back as T. A proxy is a Service like any
// other: its hooks run (a gateway authenticates there) and its listeners
// work; with no live instance it answers Unavailable. A path the App
// already has is never proxied. Its calls emit no events: the service's
// events come from the app that runs it, through a Sync on the key that
// app syncs on, and reach the proxy's listeners typed as T.
func Use[T any](r *Remote, path string, opts ...eventsync.ServiceOption) (*eventsync.Service, error) {
	if r.app.Service(path) != nil {
		return nil, fmt.Errorf("remote: %q is a local service: it is never proxied", path)
	}
	return eventsync.Use(r.app, path, &proxy[T]{r: r, path: path}, append([]eventsync.ServiceOption{eventsync.NoMethodEvents()}, opts...)...)
}

// proxy calls a remote service and decodes its results into T.
type proxy[T any] struct {
	r    *Remote
	path string
}

func decode[V any](raw json.RawMessage, err error) (V, error) {
	var v V
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, eventsync.GeneralError(fmt.Sprintf("the remote result does not fit %T: %v", v, err))
	}
	return v, nil
}

func (p *proxy[T]) Find(ctx context.Context, params eventsync.Params) ([]T, error) {
	return decode[[]T](p.r.Call(ctx, p.path, eventsync.MethodFind, nil, nil, params))
}

func (p *proxy[T]) Get(ctx context.Context, id any, params eventsync.Params) (T, error) {
	return decode[T](p.r.Call(ctx, p.path, eventsync.MethodGet, id, nil, params))
}

func (p *proxy[T]) Create(ctx context.Context, data T, params eventsync.Params) (T, error) {
	return decode[T](p.r.Call(ctx, p.path, eventsync.MethodCreate, nil, data, params))
}

func (p *proxy[T]) Update(ctx context.Context, id any, data T, params eventsync.Params) (T, error) {
	return decode[T](p.r.Call(ctx, p.path, eventsync.MethodUpdate, id, data, params))
}

func (p *proxy[T]) Patch(ctx context.Context, id any, data map[string]any, params eventsync.Params) (T, error) {
	return decode[T](p.r.Call(ctx, p.path, eventsync.MethodPatch, id, data, params))
}

func (p *proxy[T]) Remove(ctx context.Context, id any, params eventsync.Params) (T, error) {
	return decode[T](p.r.Call(ctx, p.path, eventsync.MethodRemove, id, nil, params))
}
