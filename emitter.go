package eventsync

import "reflect"

// Emitter is what a Sync hooks onto. *App implements it; a program with its
// own event bus can implement it too and Configure a Sync on that (see
// Example_customEmitter).
type Emitter interface {
	// Intercept registers fn to see every event the emitter emits locally,
	// before its listeners run. fn may set ev.Origin; it does not keep ev
	// after it returns, so the emitter may reuse it. If fn returns true it
	// takes over delivery: the emitter must not call its listeners for that
	// event (the Sync will Dispatch it when it comes back from the broker).
	// An emitter accepts one interceptor; a second call returns
	// ErrAlreadyConfigured.
	Intercept(fn func(ev *Event) (deferred bool)) (remove func(), err error)

	// Dispatch delivers an event received from the broker to local listeners,
	// without passing it to the interceptor again. It fills in the App and
	// Service of ev.Context where it has them, and returns an error wrapping
	// ErrUnknownPath or ErrUnknownEvent when nothing can receive it.
	Dispatch(ev Event) error

	// DataType returns the Go type that data of event on path decodes into,
	// or an error wrapping ErrUnknownPath or ErrUnknownEvent. A nil type means
	// "decode generically" (maps, slices, float64, string, bool). The Sync
	// decodes large batches on several goroutines, so DataType must be safe
	// for concurrent use; Dispatch is called from one goroutine, in order.
	DataType(path, event string) (reflect.Type, error)
}
