package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/callargs"
)

// handle handles one Engine.IO packet from the client, in order with the
// others; false when the session is closed.
func (ss *session) handle(p []byte, overWebSocket bool) bool {
	ss.readMu.Lock()
	defer ss.readMu.Unlock()
	if len(p) == 0 {
		ss.bad("empty packet", nil)
		return false
	}
	switch p[0] {
	case engineMessage:
		ss.message(string(p[1:]))
	case enginePong:
		ss.pong()
	case enginePing: // Engine.IO v3 clients ping; v4 answers them too
		ss.send(append([]byte{enginePong}, p[1:]...))
	case engineClose:
		ss.close("client closed")
	case engineNoop:
	case engineUpgrade:
		if !overWebSocket {
			ss.bad("upgrade over long-polling", nil)
		}
	default:
		ss.bad("unknown Engine.IO packet", fmt.Errorf("type %q", p[0]))
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return !ss.closed
}

// attachment discards a binary attachment: binary events are refused (their
// placeholders cannot become typed data), the attachments that follow them
// are read and dropped; one that follows nothing is bad input.
func (ss *session) attachment() {
	ss.readMu.Lock()
	defer ss.readMu.Unlock()
	if ss.binary == 0 {
		ss.bad("binary attachment without a binary event", nil)
		return
	}
	ss.binary--
}

// message handles a Socket.IO packet.
func (ss *session) message(raw string) {
	if ss.binary > 0 {
		ss.bad("text packet while attachments were due", nil)
		return
	}
	p, err := parsePacket(raw)
	if err != nil {
		ss.bad("malformed Socket.IO packet", err)
		return
	}
	if p.namespace != "/" {
		if p.kind == packetConnect {
			ss.srv.stats.refused.Add(1)
			ss.send(fmt.Appendf(nil, "%c%c%s,%s", engineMessage, packetConnectError, p.namespace, `{"message":"Invalid namespace"}`))
		}
		return // Socket.IO ignores packets of namespaces it refused
	}
	ss.mu.Lock()
	conn := ss.conn
	ss.mu.Unlock()
	switch {
	case p.kind == packetConnect:
		ss.connect(p.data)
	case conn == nil:
		ss.bad("packet before connect", fmt.Errorf("type %q", p.kind))
	case p.kind == packetDisconnect:
		ss.close("client disconnected")
	case p.kind == packetEvent:
		ss.event(p)
	case p.kind == packetBinaryEvent:
		ss.binary = p.attachments
		ss.srv.stats.calls.Add(1)
		ss.reply(p.ackID, eventsync.BadRequest("binary attachments are not supported: send the data as JSON"), nil)
	case p.kind == packetAck || p.kind == packetBinaryAck: // the server asks for no acknowledgements
		ss.binary = p.attachments
	default:
		ss.bad("unexpected Socket.IO packet", fmt.Errorf("type %q", p.kind))
	}
}

// connect joins the socket to the hub, through OnConnect.
func (ss *session) connect(data json.RawMessage) {
	s := ss.srv
	ss.mu.Lock()
	connected := ss.conn != nil
	ss.mu.Unlock()
	if connected {
		ss.bad("connect twice", nil)
		return
	}
	hs := ss.hs
	if len(data) > 0 && json.Unmarshal(data, &hs.Auth) != nil {
		ss.bad("auth data is not a JSON object", nil)
		return
	}
	conn := s.hub.Connect(eventsync.Params{"provider": "socketio"})
	if f := s.opts.OnConnect; f != nil {
		if err := f(ss.ctx, hs, conn); err != nil {
			conn.Close()
			s.stats.refused.Add(1)
			e := s.asError(err, "connect")
			b, _ := json.Marshal(map[string]any{"message": e.Message, "data": e})
			ss.send(append([]byte{engineMessage, packetConnectError}, b...))
			return
		}
	}
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		conn.Close()
		return
	}
	ss.conn = conn
	ss.mu.Unlock()
	ss.watchDrop(conn)
	s.stats.connected.Add(1)
	b, _ := json.Marshal(map[string]string{"sid": randomID()})
	ss.send(append([]byte{engineMessage, packetConnect}, b...))
}

// event runs a method call: ["method", "path", ...args]. It waits for a
// slot of MaxInFlight, so that a client that floods waits unread.
func (ss *session) event(p packet) {
	var args []json.RawMessage
	if json.Unmarshal(p.data, &args) != nil || len(args) == 0 {
		ss.bad("event is not a JSON array", nil)
		return
	}
	var method string
	if json.Unmarshal(args[0], &method) != nil {
		ss.bad("event name is not a string", nil)
		return
	}
	s := ss.srv
	s.stats.calls.Add(1)
	select {
	case ss.inFlight <- struct{}{}:
	case <-ss.ctx.Done():
		return
	}
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		defer func() { <-ss.inFlight }()
		result, err := ss.call(method, args[1:])
		ss.reply(p.ackID, err, result)
	}()
}

// Where a method takes its query, as Feathers' socket provider reads them.
var queryPosition = map[string]int{eventsync.MethodFind: 0, eventsync.MethodUpdate: 2, eventsync.MethodPatch: 2}

// call runs method with what the client sent after the method's name:
// the path, then the method's arguments.
func (ss *session) call(method string, args []json.RawMessage) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			result, err = nil, fmt.Errorf("socketio: panic: %v", p)
		}
	}()
	var path string
	if len(args) == 0 || json.Unmarshal(args[0], &path) != nil {
		return nil, eventsync.NotFound("Invalid service path")
	}
	args = args[1:]
	svc := ss.srv.app.Service(strings.Trim(path, "/"))
	if svc == nil {
		return nil, eventsync.NotFound(fmt.Sprintf("Service '%s' not found", path))
	}
	idType, dataType, ok := svc.ArgTypes(method)
	if !ok {
		return nil, eventsync.MethodNotAllowed(fmt.Sprintf("Method '%s' not allowed on service '%s'", method, path))
	}
	position, ok := queryPosition[method]
	if !ok {
		position = 1
	}
	if len(args) > position+1 {
		return nil, eventsync.BadRequest(fmt.Sprintf("Too many arguments for '%s' method", method))
	}
	arg := func(i int) json.RawMessage {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	query := map[string]any{}
	if q := arg(position); q != nil && string(q) != "null" && json.Unmarshal(q, &query) != nil {
		return nil, eventsync.BadRequest("the query is not a JSON object")
	}
	var id, data any
	next := 0
	if idType != nil {
		if id, err = callargs.IDFromJSON(arg(0), idType); err != nil {
			return nil, err
		}
		next = 1
	}
	if dataType != nil {
		if data, err = decodeData(arg(next), dataType); err != nil {
			return nil, err
		}
	}
	ss.mu.Lock()
	conn := ss.conn
	ss.mu.Unlock()
	params := conn.Params()
	maps.Copy(params, eventsync.Params{"query": query, "provider": "socketio", "connection": conn})
	return svc.Call(ss.ctx, method, id, data, params)
}

func decodeData(raw json.RawMessage, t reflect.Type) (any, error) {
	if len(raw) == 0 {
		return nil, eventsync.BadRequest("data is required")
	}
	return callargs.DecodeJSON(raw, t)
}

// reply sends a call's acknowledgement, if the client asked for one:
// [error] or [null, result].
func (ss *session) reply(ackID int64, err error, result any) {
	s := ss.srv
	if err != nil {
		s.stats.failed.Add(1)
	}
	if ackID < 0 {
		return
	}
	var args []byte
	if err == nil {
		if args, err = json.Marshal([]any{nil, result}); err != nil {
			s.stats.failed.Add(1)
			err = fmt.Errorf("socketio: cannot encode the result: %w", err)
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && ss.ctx.Err() != nil {
			return // the socket is gone
		}
		args, _ = json.Marshal([]any{s.asError(err, "call")})
	}
	ss.send(appendAck(nil, ackID, args))
}

// asError is err as Feathers' error JSON; the cause of a 500 goes to the log.
func (s *Server) asError(err error, what string) *eventsync.Error {
	e := eventsync.AsError(err)
	if e.Code >= 500 && e.Cause != nil {
		s.log.Error("socketio: "+what+" failed", "err", e.Cause)
	}
	return e
}
