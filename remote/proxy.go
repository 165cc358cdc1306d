package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/registry"
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

// call calls method remotely; over HTTP, an Unavailable answer tells the
// client when to retry (the registry notices a new instance within a
// heartbeat or so).
func (p *proxy[T]) call(ctx context.Context, method string, id, data any, params eventsync.Params) (json.RawMessage, error) {
	raw, err := p.r.Call(ctx, p.path, method, id, data, params)
	var e *eventsync.Error
	if errors.As(err, &e) && e.Code == 503 {
		if h := eventsync.HTTPFrom(ctx); h != nil {
			h.Header.Set("Retry-After", "1")
		}
	}
	return raw, err
}

func (p *proxy[T]) Find(ctx context.Context, params eventsync.Params) ([]T, error) {
	return decode[[]T](p.call(ctx, eventsync.MethodFind, nil, nil, params))
}

func (p *proxy[T]) Get(ctx context.Context, id any, params eventsync.Params) (T, error) {
	return decode[T](p.call(ctx, eventsync.MethodGet, id, nil, params))
}

func (p *proxy[T]) Create(ctx context.Context, data T, params eventsync.Params) (T, error) {
	return decode[T](p.call(ctx, eventsync.MethodCreate, nil, data, params))
}

func (p *proxy[T]) Update(ctx context.Context, id any, data T, params eventsync.Params) (T, error) {
	return decode[T](p.call(ctx, eventsync.MethodUpdate, id, data, params))
}

func (p *proxy[T]) Patch(ctx context.Context, id any, data map[string]any, params eventsync.Params) (T, error) {
	return decode[T](p.call(ctx, eventsync.MethodPatch, id, data, params))
}

func (p *proxy[T]) Remove(ctx context.Context, id any, params eventsync.Params) (T, error) {
	return decode[T](p.call(ctx, eventsync.MethodRemove, id, nil, params))
}

// ProxyAll registers an untyped proxy (JSON values: map[string]any for an
// object) for every path that live instances of other apps serve and this
// App does not have, now and as instances join: what a gateway needs. It
// returns a function that stops adding proxies.
func (r *Remote) ProxyAll() (stop func()) {
	add := func(m registry.Member) {
		if m.Via != "" || m.Instance == r.opts.Registry.Instance() {
			return
		}
		for _, s := range m.Services {
			r.proxyMu.Lock()
			if r.app.Service(s.Path) == nil {
				if _, err := Use[any](r, s.Path); err != nil {
					r.log.Warn("remote: no proxy", "path", s.Path, "err", err)
				}
			}
			r.proxyMu.Unlock()
		}
	}
	off := r.opts.Registry.Watch(func(c registry.Change) {
		if c.Kind == registry.Online || c.Kind == registry.Changed {
			add(c.Member)
		}
	})
	for _, m := range r.opts.Registry.Members() {
		add(m)
	}
	return off
}
