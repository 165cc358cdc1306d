package eventsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
)

// Service is a registered service: the user's implementation plus its path,
// record type, hooks, declared events and listeners.
//
// The implementation provides any of these methods, where T is the record type,
// I any id type and D any data type (usually T, or a map for Patch):
//
//	Find(ctx context.Context, params eventsync.Params) ([]T, error)
//	Get(ctx context.Context, id I, params eventsync.Params) (T, error)
//	Create(ctx context.Context, data D, params eventsync.Params) (T, error)
//	Update(ctx context.Context, id I, data D, params eventsync.Params) (T, error)
//	Patch(ctx context.Context, id I, data D, params eventsync.Params) (T, error)
//	Remove(ctx context.Context, id I, params eventsync.Params) (T, error)
type Service struct {
	app        *App
	path       string
	impl       any
	recordType reflect.Type
	receiver   reflect.Value // impl, the first argument of each of methods
	// methods holds each method's func, called with receiver first: called
	// as a method value, reflect allocated the receiver on every call.
	methods    map[string]reflect.Value
	typed      map[string]typedMethod  // with RecordType: the methods called without reflection
	eventTypes map[string]reflect.Type // standard and custom events and their data types
	events     listeners
	quiet      bool // NoMethodEvents: its calls emit nothing

	mu    sync.RWMutex
	hooks Hooks
}

// ServiceOption configures a service at registration.
type ServiceOption func(*serviceConfig)

type serviceConfig struct {
	record reflect.Type
	typed  func(svc any) map[string]typedMethod
	custom map[string]reflect.Type
	quiet  bool
}

// NoMethodEvents makes the service's calls emit no events: a proxy of a
// service that runs elsewhere (package remote), whose events come from
// where it runs. Its listeners still get the events dispatched to it.
func NoMethodEvents() ServiceOption { return func(c *serviceConfig) { c.quiet = true } }

// RecordType sets the service's record type explicitly instead of inferring it
// from the methods' result types. Known when the program is compiled, it also
// lets the service's methods be called directly rather than through
// reflection, where their parameters allow it (the record type T for result
// and data, an int, int64 or string id): a Create then takes about a quarter
// less time.
func RecordType[T any]() ServiceOption {
	return func(c *serviceConfig) { c.record, c.typed = reflect.TypeFor[T](), typedMethods[T] }
}

// CustomEvent declares a custom event whose data has type T on every replica.
// Use CustomEvent[any] for free-form data (maps, slices, numbers, strings).
func CustomEvent[T any](name string) ServiceOption {
	return func(c *serviceConfig) {
		t := reflect.TypeFor[T]()
		if t.Kind() == reflect.Interface {
			t = nil
		}
		c.custom[name] = t
	}
}

// methodShapes lists each service method and whether it takes an id and data,
// in the order used to infer the record type.
var methodShapes = []struct {
	name, method string
	id, data     bool
}{
	{"Create", MethodCreate, false, true},
	{"Update", MethodUpdate, true, true},
	{"Patch", MethodPatch, true, true},
	{"Get", MethodGet, true, false},
	{"Remove", MethodRemove, true, false},
	{"Find", MethodFind, false, false},
}

var (
	ctxType    = reflect.TypeFor[context.Context]()
	paramsType = reflect.TypeFor[Params]()
	errorType  = reflect.TypeFor[error]()
)

// Use registers svc under path. The record type is inferred from the result
// type of Create, Update, Patch, Get or Remove (the first present), or from
// Find's slice element type; RecordType overrides it. A method with the right
// name but a wrong signature is an error, so typos do not silently vanish.
func Use(app *App, path string, svc any, opts ...ServiceOption) (*Service, error) {
	path = trimPath(path)
	if path == "" {
		return nil, fmt.Errorf("eventsync: use: empty service path")
	}
	cfg := serviceConfig{custom: make(map[string]reflect.Type)}
	for _, o := range opts {
		o(&cfg)
	}
	rv := reflect.ValueOf(svc)
	s := &Service{app: app, path: path, impl: svc, receiver: rv, methods: make(map[string]reflect.Value)}
	var inferred reflect.Type
	for _, shape := range methodShapes {
		m := rv.MethodByName(shape.name)
		if !m.IsValid() {
			continue
		}
		if err := checkSignature(m.Type(), shape.id, shape.data); err != nil {
			return nil, fmt.Errorf("eventsync: use %q: method %s of %T: %w", path, shape.name, svc, err)
		}
		fn, _ := rv.Type().MethodByName(shape.name)
		s.methods[shape.method] = fn.Func
		if inferred == nil {
			inferred = m.Type().Out(0)
			if shape.method == MethodFind {
				if inferred.Kind() != reflect.Slice {
					return nil, fmt.Errorf("eventsync: use %q: Find of %T must return a slice", path, svc)
				}
				inferred = inferred.Elem()
			}
		}
	}
	s.recordType, s.quiet = cfg.record, cfg.quiet
	if s.recordType == nil {
		s.recordType = inferred
	}
	if cfg.typed != nil {
		s.typed = cfg.typed(svc)
	}
	if s.recordType == nil {
		return nil, fmt.Errorf("eventsync: use %q: %T has no service method to infer the record type from; pass RecordType", path, svc)
	}
	s.eventTypes = make(map[string]reflect.Type, len(standardEvents)+len(cfg.custom))
	for _, e := range standardEvents {
		s.eventTypes[e] = s.recordType
	}
	for name, t := range cfg.custom {
		if isStandardEvent(name) {
			return nil, fmt.Errorf("eventsync: use %q: custom event %q shadows a standard event", path, name)
		}
		s.eventTypes[name] = t
	}
	err := app.change(func(st *appState) error {
		if _, dup := st.services[path]; dup {
			return fmt.Errorf("eventsync: use: path %q already registered", path)
		}
		st.services = maps.Clone(st.services)
		st.services[path] = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func checkSignature(t reflect.Type, id, data bool) error {
	want := 2
	if id {
		want++
	}
	if data {
		want++
	}
	if t.NumIn() != want || t.In(0) != ctxType || t.In(want-1) != paramsType {
		return fmt.Errorf("want %d parameters: context.Context first, eventsync.Params last", want)
	}
	if t.NumOut() != 2 || t.Out(1) != errorType {
		return fmt.Errorf("want two results: the record and error")
	}
	return nil
}

// Path returns the path the service is registered under.
func (s *Service) Path() string { return s.path }

// RecordType returns the Go type of the service's records.
func (s *Service) RecordType() reflect.Type { return s.recordType }

// Methods returns the service methods the service implements, in Feathers'
// order (find, get, create, update, patch, remove).
func (s *Service) Methods() []string {
	var out []string
	for _, m := range [...]string{MethodFind, MethodGet, MethodCreate, MethodUpdate, MethodPatch, MethodRemove} {
		if _, ok := s.methods[m]; ok {
			out = append(out, m)
		}
	}
	return out
}

// ArgTypes returns the types of method's id and data parameters (nil where
// it takes none), and false if the service does not implement it: a
// transport decodes an id from a URL or a body into them.
func (s *Service) ArgTypes(method string) (id, data reflect.Type, ok bool) {
	fn, ok := s.methods[method]
	if !ok {
		return nil, nil, false
	}
	t := fn.Type() // receiver, ctx, [id], [data], params
	i := 2
	if method != MethodCreate && method != MethodFind {
		id = t.In(i)
		i++
	}
	if method == MethodCreate || method == MethodUpdate || method == MethodPatch {
		data = t.In(i)
	}
	return id, data, true
}

// Events returns the events the service emits: the standard ones, then its
// custom events, sorted.
func (s *Service) Events() []string {
	var custom []string
	for name := range s.eventTypes {
		if !isStandardEvent(name) {
			custom = append(custom, name)
		}
	}
	slices.Sort(custom)
	return append(slices.Clone(standardEvents[:]), custom...)
}

// Impl returns the implementation passed to Use.
func (s *Service) Impl() any { return s.impl }

// Hooks adds hooks that run around this service's calls.
func (s *Service) Hooks(h Hooks) {
	s.mu.Lock()
	s.hooks = s.hooks.with(h)
	s.mu.Unlock()
}

// On registers fn for event on this service and returns a func that removes it.
func (s *Service) On(event string, fn Listener) (off func()) { return s.events.on(event, fn) }

func (s *Service) hasEvent(name string) bool {
	_, ok := s.eventTypes[name]
	return ok
}

// Emit emits a declared custom event (or a standard one) with data. It has no
// hook context. It is synced unless ctx carries WithoutSync. Data must be of
// the event's declared type.
func (s *Service) Emit(ctx context.Context, event string, data any) error {
	t, ok := s.eventTypes[event]
	if !ok {
		return fmt.Errorf("%w: %q on %q (declare it with CustomEvent)", ErrUnknownEvent, event, s.path)
	}
	if t != nil && data != nil && !reflect.TypeOf(data).AssignableTo(t) {
		return fmt.Errorf("%w: event %q on %q takes %v, not %T", ErrInvalidArgument, event, s.path, t, data)
	}
	s.app.emit(s, Event{Name: event, Path: s.path, Data: data, Sync: SyncEnabled(ctx)})
	return nil
}

// Call calls method (MethodFind ... MethodRemove) through hooks, with id and
// data where the method takes them: what a transport does with a method
// named by its client. A method the service does not implement is
// ErrMethodNotImplemented.
func (s *Service) Call(ctx context.Context, method string, id, data any, params Params) (any, error) {
	return s.call(ctx, method, id, data, params)
}

// Find calls the service's Find through hooks.
func (s *Service) Find(ctx context.Context, params Params) (any, error) {
	return s.call(ctx, MethodFind, nil, nil, params)
}

// Get calls the service's Get through hooks.
func (s *Service) Get(ctx context.Context, id any, params Params) (any, error) {
	return s.call(ctx, MethodGet, id, nil, params)
}

// Create calls the service's Create through hooks and emits "created".
func (s *Service) Create(ctx context.Context, data any, params Params) (any, error) {
	return s.call(ctx, MethodCreate, nil, data, params)
}

// Update calls the service's Update through hooks and emits "updated".
func (s *Service) Update(ctx context.Context, id, data any, params Params) (any, error) {
	return s.call(ctx, MethodUpdate, id, data, params)
}

// Patch calls the service's Patch through hooks and emits "patched".
func (s *Service) Patch(ctx context.Context, id, data any, params Params) (any, error) {
	return s.call(ctx, MethodPatch, id, data, params)
}

// Remove calls the service's Remove through hooks and emits "removed".
func (s *Service) Remove(ctx context.Context, id any, params Params) (any, error) {
	return s.call(ctx, MethodRemove, id, nil, params)
}

// eventOf is the event a call of method emits: none for a quiet service.
func (s *Service) eventOf(method string) string {
	if s.quiet {
		return ""
	}
	return eventOfMethod[method]
}

var eventOfMethod = map[string]string{
	MethodCreate: EventCreated, MethodUpdate: EventUpdated,
	MethodPatch: EventPatched, MethodRemove: EventRemoved,
}

// call runs one service call: before hooks (app, then service), the method,
// after hooks (service, then app), error hooks on failure, then the event.
func (s *Service) call(ctx context.Context, method string, id, data any, params Params) (any, error) {
	m, ok := s.methods[method]
	if !ok {
		return nil, fmt.Errorf("%w: %s on %q", ErrMethodNotImplemented, method, s.path)
	}
	if params == nil {
		params = Params{}
	}
	call := &serviceCall{hc: HookContext{
		App: s.app, Service: s, Path: s.path, Method: method, Type: HookBefore,
		ID: id, Data: data, Params: params, Event: s.eventOf(method), Sync: SyncEnabled(ctx),
		HTTP: httpResponse(ctx),
	}}
	hc := &call.hc
	appHooks := s.app.state.Load().hooks
	s.mu.RLock()
	svcHooks := s.hooks
	s.mu.RUnlock()

	err := runHooks(ctx, hc, appHooks.Before, svcHooks.Before)
	if err == nil && hc.Result == nil { // a before hook may answer the call itself
		direct, ok := s.typed[method]
		if ok {
			hc.Result, err = direct(ctx, hc)
		}
		if !ok || errors.Is(err, errNotExact) {
			call.ctx = ctx
			hc.Result, err = invoke(reflect.ValueOf(&call.ctx).Elem(), s.receiver, m, hc)
			call.ctx = nil // hc outlives the call in the event's Context
		}
	}
	if err == nil {
		hc.Type = HookAfter
		err = runHooks(ctx, hc, svcHooks.After, appHooks.After)
	}
	if err != nil {
		hc.Type, hc.Error = HookError, err
		for _, h := range append(svcHooks.Error[:len(svcHooks.Error):len(svcHooks.Error)], appHooks.Error...) {
			if herr := h(ctx, hc); herr != nil {
				hc.Error = herr
			}
		}
		return nil, hc.Error
	}
	if hc.Event != "" {
		s.app.emit(s, Event{Name: hc.Event, Path: s.path, Data: hc.Result, Context: hc, Sync: hc.Sync})
	}
	return hc.Result, nil
}

func runHooks(ctx context.Context, hc *HookContext, lists ...[]Hook) error {
	for _, list := range lists {
		for _, h := range list {
			if err := h(ctx, hc); err != nil {
				return err
			}
		}
	}
	return nil
}

// serviceCall is a call's hook context, allocated with a slot for the
// call's context.Context: see invoke.
type serviceCall struct {
	hc  HookContext
	ctx context.Context
}

// invoke calls fn, a method's func, on receiver with the call's context and
// what hc holds. ctx is a value of the interface type context.Context (not
// of the context's own type): reflect.Value.Call converts each argument to
// its parameter's type, and from a concrete context that was a walk over
// the method sets (implements) and an allocation on every call, a tenth of
// a Create's CPU.
func invoke(ctx, receiver, fn reflect.Value, hc *HookContext) (any, error) {
	t := fn.Type()
	var buf [5]reflect.Value // receiver, ctx, id, data, params: on the stack
	args := append(buf[:0], receiver, ctx)
	takesID := hc.Method != MethodCreate && hc.Method != MethodFind
	takesData := hc.Method == MethodCreate || hc.Method == MethodUpdate || hc.Method == MethodPatch
	for _, p := range []struct {
		use bool
		v   any
	}{{takesID, hc.ID}, {takesData, hc.Data}} {
		if !p.use {
			continue
		}
		arg, err := argument(p.v, t.In(len(args)))
		if err != nil {
			return nil, fmt.Errorf("%w: %s on %q: %v", ErrInvalidArgument, hc.Method, hc.Path, err)
		}
		args = append(args, arg)
	}
	args = append(args, reflect.ValueOf(hc.Params))
	out := fn.Call(args)
	if err, _ := out[1].Interface().(error); err != nil {
		return nil, err
	}
	return out[0].Interface(), nil
}

// argument fits v to a method parameter of type t: assignable values pass,
// numbers convert between numeric kinds (ids arrive as float64 from JSON), nil
// becomes the zero value.
func argument(v any, t reflect.Type) (reflect.Value, error) {
	if v == nil {
		return reflect.Zero(t), nil
	}
	rv := reflect.ValueOf(v)
	if rv.Type().AssignableTo(t) {
		return rv, nil
	}
	if isNumber(rv.Kind()) && isNumber(t.Kind()) {
		return rv.Convert(t), nil
	}
	return reflect.Value{}, fmt.Errorf("%T does not fit %v", v, t)
}

func isNumber(k reflect.Kind) bool {
	return (k >= reflect.Int && k <= reflect.Uint64) || k == reflect.Float32 || k == reflect.Float64
}
