package eventsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/eventsync/eventsync"
)

func TestAsError(t *testing.T) {
	cause := errors.New("disk full")
	own := eventsync.Conflict("title taken", map[string]string{"title": "a"})
	for _, c := range []struct {
		err       error
		name      string
		code      int
		className string
	}{
		{own, "Conflict", 409, "conflict"},
		{fmt.Errorf("wrapped: %w", own), "Conflict", 409, "conflict"},
		{fmt.Errorf("%w: id", eventsync.ErrInvalidArgument), "BadRequest", 400, "bad-request"},
		{fmt.Errorf("%w: x", eventsync.ErrUnknownPath), "NotFound", 404, "not-found"},
		{fmt.Errorf("%w: x", eventsync.ErrMethodNotImplemented), "MethodNotAllowed", 405, "method-not-allowed"},
		{context.DeadlineExceeded, "Timeout", 408, "timeout"},
		{cause, "GeneralError", 500, "general-error"},
	} {
		e := eventsync.AsError(c.err)
		if e.Name != c.name || e.Code != c.code || e.ClassName != c.className {
			t.Errorf("AsError(%v) = %+v", c.err, e)
		}
	}
	general := eventsync.AsError(cause)
	b, _ := json.Marshal(general)
	if string(b) != `{"name":"GeneralError","message":"internal error","code":500,"className":"general-error"}` || !errors.Is(general, cause) {
		t.Errorf("a GeneralError sends %s and wraps %v", b, general.Cause)
	}
	b, _ = json.Marshal(own)
	if string(b) != `{"name":"Conflict","message":"title taken","code":409,"className":"conflict","data":{"title":"a"}}` {
		t.Errorf("Conflict JSON: %s", b)
	}
	if eventsync.AsError(nil) != nil {
		t.Error("AsError(nil) is not nil")
	}
}
