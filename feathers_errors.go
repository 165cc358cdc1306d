package eventsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Error is a service error with a Feathers error class: services return one
// to say what went wrong in terms a client understands, hooks inspect it
// with errors.As, and transports send it as Feathers' error JSON,
//
//	{"name":"NotFound","message":"no todo 7","code":404,"className":"not-found","data":{...}}
//
// with the HTTP status of its Code. Cause, if set, is wrapped (errors.Is
// and errors.As see it) and never sent.
type Error struct {
	Name      string // Feathers' class name: "NotFound"
	Message   string
	Code      int    // the HTTP status: 404
	ClassName string // "not-found"
	Data      any    // optional details, sent as "data"
	Cause     error  // what caused it, for logs; not sent
}

// Error implements error.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Name, e.Message, e.Cause)
	}
	return e.Name + ": " + e.Message
}

// Unwrap returns Cause.
func (e *Error) Unwrap() error { return e.Cause }

// MarshalJSON writes Feathers' error JSON.
func (e *Error) MarshalJSON() ([]byte, error) {
	type wire struct {
		Name      string `json:"name"`
		Message   string `json:"message"`
		Code      int    `json:"code"`
		ClassName string `json:"className"`
		Data      any    `json:"data,omitempty"`
	}
	return json.Marshal(wire{e.Name, e.Message, e.Code, e.ClassName, e.Data})
}

// errorClass builds the constructor of one Feathers error class.
func errorClass(name string, code int, className string) func(message string, data ...any) *Error {
	return func(message string, data ...any) *Error {
		e := &Error{Name: name, Message: message, Code: code, ClassName: className}
		if len(data) > 0 {
			e.Data = data[0]
		}
		return e
	}
}

// Feathers' error classes; the optional data argument becomes Error.Data.
var (
	BadRequest       = errorClass("BadRequest", 400, "bad-request")
	NotAuthenticated = errorClass("NotAuthenticated", 401, "not-authenticated")
	Forbidden        = errorClass("Forbidden", 403, "forbidden")
	NotFound         = errorClass("NotFound", 404, "not-found")
	MethodNotAllowed = errorClass("MethodNotAllowed", 405, "method-not-allowed")
	Timeout          = errorClass("Timeout", 408, "timeout")
	Conflict         = errorClass("Conflict", 409, "conflict")
	PayloadTooLarge  = errorClass("PayloadTooLarge", 413, "payload-too-large")
	Unprocessable    = errorClass("Unprocessable", 422, "unprocessable")
	GeneralError     = errorClass("GeneralError", 500, "general-error")
	Unavailable      = errorClass("Unavailable", 503, "unavailable")
)

// AsError returns err as an *Error for a client: an *Error in its chain as
// it is; eventsync's own errors as their classes (ErrInvalidArgument a
// BadRequest, ErrUnknownPath a NotFound, ErrMethodNotImplemented a
// MethodNotAllowed, a deadline a Timeout); anything else a GeneralError
// with a generic message and err as its Cause, so that no internal detail
// reaches a client (log the Cause instead).
func AsError(err error) *Error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, ErrInvalidArgument):
		e = BadRequest(err.Error())
	case errors.Is(err, ErrUnknownPath):
		e = NotFound(err.Error())
	case errors.Is(err, ErrMethodNotImplemented):
		e = MethodNotAllowed(err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		e = Timeout("the call took too long")
	default:
		e = GeneralError("internal error")
	}
	e.Cause = err
	return e
}
