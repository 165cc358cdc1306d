package eventsync

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these where it
// applies, so callers can test them with errors.Is.
var (
	// ErrUnknownPath is returned when no service is registered under a path.
	ErrUnknownPath = errors.New("eventsync: unknown service path")
	// ErrMethodNotImplemented is returned when a service lacks the called method.
	ErrMethodNotImplemented = errors.New("eventsync: method not implemented")
	// ErrUnknownEvent is returned when a service emits an event it did not declare.
	ErrUnknownEvent = errors.New("eventsync: unknown event")
	// ErrInvalidArgument is returned when an id or data value does not fit the
	// service method's parameter type.
	ErrInvalidArgument = errors.New("eventsync: invalid argument")
	// ErrAlreadyConfigured is returned by Configure when the emitter already has a Sync.
	ErrAlreadyConfigured = errors.New("eventsync: sync already configured on this emitter")
	// ErrNoTransport is returned by Configure when Options has neither URI nor Adapter.
	ErrNoTransport = errors.New("eventsync: Options.URI or Options.Adapter is required")
	// ErrUnknownScheme is returned when no adapter is registered for a URI's scheme.
	ErrUnknownScheme = errors.New("eventsync: unknown adapter scheme")
	// ErrClosed is returned by operations on a closed Sync or adapter.
	ErrClosed = errors.New("eventsync: closed")
	// ErrMessageTooLarge is returned when an encoded message exceeds the size limit.
	ErrMessageTooLarge = errors.New("eventsync: message too large")
)
