package eventsync

import (
	"context"
	"errors"
)

// typedMethod calls one service method directly instead of through
// reflect.Value.Call, which was a quarter of a Create's time (its argument
// checks, and allocating the results and the slice that holds them). It
// returns errNotExact, without calling the method, when the call's id or
// data are not of the method's exact parameter types (a hook replaced them,
// or an id arrived as a JSON number): reflection then converts them, or
// reports that they do not fit, as for any service.
type typedMethod func(ctx context.Context, hc *HookContext) (any, error)

var errNotExact = errors.New("eventsync: arguments not of the method's exact types")

// typedMethods returns direct calls of svc's methods that have the record
// type T for their result and data, and int, int64 or string for their id:
// the record type has to be known when the program is compiled, which is
// what RecordType[T] tells.
func typedMethods[T any](svc any) map[string]typedMethod {
	calls := make(map[string]typedMethod)
	if s, ok := svc.(interface {
		Create(context.Context, T, Params) (T, error)
	}); ok {
		calls[MethodCreate] = func(ctx context.Context, hc *HookContext) (any, error) {
			data, ok := hc.Data.(T)
			if !ok {
				return nil, errNotExact
			}
			return result(s.Create(ctx, data, hc.Params))
		}
	}
	if s, ok := svc.(interface {
		Find(context.Context, Params) ([]T, error)
	}); ok {
		calls[MethodFind] = func(ctx context.Context, hc *HookContext) (any, error) {
			return result(s.Find(ctx, hc.Params))
		}
	}
	typedByID[T, int](svc, calls)
	typedByID[T, int64](svc, calls)
	typedByID[T, string](svc, calls)
	return calls
}

// typedByID adds to calls the methods of svc that take an id of type ID.
func typedByID[T, ID any](svc any, calls map[string]typedMethod) {
	withID := func(method string, fn func(context.Context, ID, Params) (T, error)) {
		calls[method] = func(ctx context.Context, hc *HookContext) (any, error) {
			id, ok := hc.ID.(ID)
			if !ok {
				return nil, errNotExact
			}
			return result(fn(ctx, id, hc.Params))
		}
	}
	withIDAndData := func(method string, fn func(context.Context, ID, T, Params) (T, error)) {
		calls[method] = func(ctx context.Context, hc *HookContext) (any, error) {
			id, ok := hc.ID.(ID)
			data, isT := hc.Data.(T)
			if !ok || !isT {
				return nil, errNotExact
			}
			return result(fn(ctx, id, data, hc.Params))
		}
	}
	if s, ok := svc.(interface {
		Get(context.Context, ID, Params) (T, error)
	}); ok {
		withID(MethodGet, s.Get)
	}
	if s, ok := svc.(interface {
		Remove(context.Context, ID, Params) (T, error)
	}); ok {
		withID(MethodRemove, s.Remove)
	}
	if s, ok := svc.(interface {
		Update(context.Context, ID, T, Params) (T, error)
	}); ok {
		withIDAndData(MethodUpdate, s.Update)
	}
	if s, ok := svc.(interface {
		Patch(context.Context, ID, T, Params) (T, error)
	}); ok {
		withIDAndData(MethodPatch, s.Patch)
	}
}

// result is what invoke returns for a method's results: the record, or nil
// and the error.
func result[R any](r R, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}
