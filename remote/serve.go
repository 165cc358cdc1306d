package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/callargs"
	"github.com/eventsync/eventsync/internal/signing"
)

// serve answers one request: the exposed service's method, within the
// caller's deadline, through hooks; a write whose request ID was served
// already is answered again without being applied twice.
func (r *Remote) serve(ctx context.Context, body []byte) []byte {
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		return nil
	}
	if len(r.opts.Secret) > 0 {
		b, ts, ok := signing.Verify(r.opts.Secret, body, true)
		if age := time.Since(time.UnixMilli(ts)); !ok || age > maxAge || age < -maxAge {
			r.forged.Add(1) // no answer: the caller is not one of ours, or replays
			return nil
		}
		body = b
	}
	var q request
	if err := json.Unmarshal(body, &q); err != nil {
		r.malformed.Add(1)
		return r.sign(r.encodeReply(nil, eventsync.BadRequest("malformed request")))
	}
	if q.Deadline > 0 {
		deadline := time.UnixMilli(q.Deadline)
		if time.Until(deadline) <= 0 {
			return r.sign(r.encodeReply(nil, eventsync.Timeout("the request expired before it was served")))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	write := q.Method != eventsync.MethodFind && q.Method != eventsync.MethodGet
	if write {
		if cached, ok := r.done.get(q.RID); ok {
			return r.sign(cached)
		}
	}
	r.served.Add(1)
	out := r.encodeReply(r.run(ctx, &q))
	if write {
		r.done.put(q.RID, out)
	}
	return r.sign(out)
}

// maxAge is how old a signed request may be: older, it is a replay.
const maxAge = 2 * time.Minute

// sign signs a reply when the Remote has a secret.
func (r *Remote) sign(reply []byte) []byte {
	if len(r.opts.Secret) == 0 {
		return reply
	}
	return signing.Sign(r.opts.Secret, reply, time.Now().UnixMilli(), true)
}

// run calls the service the request names.
func (r *Remote) run(ctx context.Context, q *request) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			result, err = nil, fmt.Errorf("remote: panic: %v", p)
		}
	}()
	svc := r.app.Service(q.Path)
	if svc == nil || (r.opts.Expose != nil && !r.opts.Expose(q.Path)) {
		return nil, eventsync.NotFound(fmt.Sprintf("Service '%s' not found", q.Path))
	}
	idType, dataType, ok := svc.ArgTypes(q.Method)
	if !ok {
		return nil, eventsync.MethodNotAllowed(fmt.Sprintf("Method '%s' not allowed on service '%s'", q.Method, q.Path))
	}
	var id, data any
	if idType != nil {
		if id, err = callargs.IDFromJSON(q.ID, idType); err != nil {
			return nil, err
		}
	}
	if dataType != nil {
		if len(q.Data) == 0 {
			return nil, eventsync.BadRequest("data is required")
		}
		if data, err = callargs.DecodeJSON(q.Data, dataType); err != nil {
			return nil, err
		}
	}
	params := eventsync.Params{}
	for _, k := range r.opts.Params {
		if v, ok := q.Params[k]; ok {
			params[k] = v
		}
	}
	return svc.Call(ctx, q.Method, id, data, params)
}

// encodeReply is a result or an error as a reply; the cause of a 500 goes
// to the log, not to the caller.
func (r *Remote) encodeReply(result any, err error) []byte {
	var rep reply
	if err != nil {
		e := eventsync.AsError(err)
		if e.Code >= 500 && e.Cause != nil {
			r.log.Error("remote: call failed", "err", e.Cause)
		}
		rep.Error = &wireError{Name: e.Name, Message: e.Message, Code: e.Code, ClassName: e.ClassName, Data: e.Data}
	} else if rep.Result, err = json.Marshal(result); err != nil {
		rep.Error = &wireError{Name: "GeneralError", Message: "the result does not encode as JSON", Code: 500, ClassName: "general-error"}
	}
	b, _ := json.Marshal(rep)
	return b
}

// doneCache remembers the replies to the last writes served, by request ID.
type doneCache struct {
	mu    sync.Mutex
	max   int
	order []string
	byRID map[string][]byte
}

func newDoneCache(max int) *doneCache { return &doneCache{max: max, byRID: make(map[string][]byte)} }

func (c *doneCache) get(rid string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.byRID[rid]
	return b, ok
}

func (c *doneCache) put(rid string, reply []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byRID[rid]; ok {
		return
	}
	if len(c.order) >= c.max {
		delete(c.byRID, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, rid)
	c.byRID[rid] = reply
}
