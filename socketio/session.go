package socketio

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/eventsync/eventsync/channels"
)

// session is one Engine.IO session, on long-polling or WebSocket, and the
// Socket.IO socket of the main namespace inside it.
type session struct {
	srv *Server
	id  string
	hs  Handshake
	// ctx ends with the session; calls run in it.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	out       [][]byte      // control packets and acknowledgements, waiting to be sent
	wake      chan struct{} // signalled when out grows or the transport changes
	upgraded  bool          // WebSocket from now on (set on the upgrade packet)
	noop      bool          // release the pending poll with a noop (an upgrade is probing)
	polling   bool          // a long-polling GET is waiting
	conn      *channels.Conn
	pingTimer *time.Timer
	pongDue   *time.Timer
	closed    bool

	readMu   sync.Mutex    // input is handled in order
	binary   int           // binary attachments still to discard
	inFlight chan struct{} // a slot per running call
}

// newSession registers a session opened by r.
func (s *Server) newSession(r *http.Request) (*session, error) {
	ctx, cancel := context.WithCancel(context.Background())
	ss := &session{srv: s, id: randomID(), ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1),
		inFlight: make(chan struct{}, s.opts.MaxInFlight),
		hs:       Handshake{Header: r.Header.Clone(), Query: r.URL.Query(), RemoteAddr: r.RemoteAddr}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		cancel()
		return nil, errors.New("socketio: server closed")
	}
	s.sessions[ss.id] = ss
	ss.pingTimer = time.AfterFunc(s.opts.PingInterval, ss.ping)
	return ss, nil
}

// openPacket is Engine.IO's handshake answer.
func (ss *session) openPacket(upgrades []string) []byte {
	o := ss.srv.opts
	b, _ := json.Marshal(map[string]any{"sid": ss.id, "upgrades": upgrades,
		"pingInterval": o.PingInterval.Milliseconds(), "pingTimeout": o.PingTimeout.Milliseconds(), "maxPayload": o.MaxPayload})
	return append([]byte{engineOpen}, b...)
}

// open answers a handshake: a new session on the request's transport.
func (s *Server) open(w http.ResponseWriter, r *http.Request, transport string) {
	ss, err := s.newSession(r)
	if err != nil {
		s.fail(w, http.StatusServiceUnavailable, errBadRequest)
		return
	}
	if transport == "polling" {
		writeText(w, ss.openPacket([]string{"websocket"}))
		return
	}
	ws, err := s.accept(w, r)
	if err != nil {
		ss.close("websocket handshake failed")
		return
	}
	ss.mu.Lock()
	ss.upgraded = true
	ss.out = append(ss.out, ss.openPacket([]string{}))
	ss.mu.Unlock()
	ss.serveWebSocket(ws)
}

func (s *Server) accept(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	// The origin was checked by corsAllowed.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Debug("socketio: websocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return nil, err
	}
	ws.SetReadLimit(-1) // readMessage enforces MaxPayload, to count what is over it
	return ws, nil
}

// upgrade moves a long-polling session to WebSocket: the client probes
// ("2probe", answered "3probe"), the pending poll is released with a noop,
// and the client's upgrade packet switches the session over.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, ss *session) {
	ss.mu.Lock()
	upgraded := ss.upgraded
	ss.mu.Unlock()
	if upgraded {
		s.fail(w, http.StatusBadRequest, errBadRequest)
		return
	}
	ws, err := s.accept(w, r)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx, cancel := context.WithTimeout(ss.ctx, ss.srv.opts.PingTimeout)
	defer cancel()
	for {
		msg, err := ss.readMessage(ctx, ws)
		if err != nil {
			return // the session goes on over long-polling
		}
		switch {
		case bytes.Equal(msg, []byte("2probe")):
			if ws.Write(ctx, websocket.MessageText, []byte("3probe")) != nil {
				return
			}
			ss.mu.Lock()
			ss.noop = true
			ss.mu.Unlock()
			ss.signal()
		case len(msg) == 1 && msg[0] == engineUpgrade:
			ss.mu.Lock()
			ss.upgraded, ss.noop = true, false
			ss.mu.Unlock()
			ss.signal() // a poll still waiting answers with a noop
			ss.serveWebSocket(ws)
			return
		default:
			ss.srv.stats.badPackets.Add(1)
			return
		}
	}
}

// serveWebSocket reads the session's packets from ws and writes what it
// has to send, until either side ends.
func (ss *session) serveWebSocket(ws *websocket.Conn) {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer ss.close("websocket closed")
		for {
			batch, err := ss.take(ss.ctx, false)
			if err != nil {
				return
			}
			for _, p := range batch {
				if ws.Write(ss.ctx, websocket.MessageText, p) != nil {
					return
				}
			}
		}
	}()
	for {
		msg, err := ss.readMessage(ss.ctx, ws)
		if err != nil {
			break
		}
		ss.handle(msg, true)
	}
	ss.close("websocket closed")
	<-writerDone
	ws.CloseNow()
}

// readMessage reads one WebSocket message of at most MaxPayload bytes; a
// binary one is an attachment.
func (ss *session) readMessage(ctx context.Context, ws *websocket.Conn) ([]byte, error) {
	for {
		typ, rd, err := ws.Reader(ctx)
		if err != nil {
			return nil, err
		}
		limit := ss.srv.opts.MaxPayload
		msg, err := io.ReadAll(io.LimitReader(rd, limit+1))
		if err != nil {
			return nil, err
		}
		if int64(len(msg)) > limit {
			ss.srv.stats.oversized.Add(1)
			ss.srv.log.Warn("socketio: socket closed: message over MaxPayload", "remote", ss.hs.RemoteAddr, "max", limit)
			ss.close("message too large")
			return nil, errors.New("socketio: message too large")
		}
		if typ == websocket.MessageBinary {
			ss.attachment()
			continue
		}
		return msg, nil
	}
}

// poll answers a long-polling GET with what the session has to send,
// waiting for something if there is nothing yet.
func (ss *session) poll(w http.ResponseWriter, r *http.Request) {
	ss.mu.Lock()
	overlap := ss.polling
	ss.polling = true
	ss.mu.Unlock()
	if overlap { // two polls at once: a broken client
		ss.srv.stats.badPackets.Add(1)
		ss.close("overlapping polls")
		ss.srv.fail(w, http.StatusBadRequest, errBadRequest)
		return
	}
	batch, err := ss.take(r.Context(), true)
	ss.mu.Lock()
	ss.polling = false
	ss.mu.Unlock()
	if err != nil {
		if r.Context().Err() == nil {
			writeText(w, []byte{engineClose})
		}
		return
	}
	writeText(w, bytes.Join(batch, []byte{recordSeparator}))
}

// post reads a long-polling POST: packets separated by a record separator.
func (ss *session) post(w http.ResponseWriter, r *http.Request) {
	limit := ss.srv.opts.MaxPayload
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			ss.srv.stats.oversized.Add(1)
			ss.srv.log.Warn("socketio: socket closed: body over MaxPayload", "remote", r.RemoteAddr, "max", limit)
			ss.close("payload too large")
			ss.srv.fail(w, http.StatusRequestEntityTooLarge, errBadRequest)
		}
		return
	}
	for p := range bytes.SplitSeq(body, []byte{recordSeparator}) {
		if len(p) > 0 && p[0] == 'b' { // a base64 binary attachment
			if _, err := base64.StdEncoding.DecodeString(string(p[1:])); err != nil {
				ss.bad("malformed binary packet", err)
				break
			}
			ss.attachment()
			continue
		}
		if !ss.handle(p, false) {
			break
		}
	}
	writeText(w, []byte("ok"))
}

func writeText(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	_, _ = w.Write(b)
}

// take waits until the session has something to send (or ctx ends) and
// returns all of it: control packets and acknowledgements first, then the
// events queued for the socket. A poll gets a noop when the session is
// upgrading or upgraded, so that the client's polling can stop.
func (ss *session) take(ctx context.Context, poll bool) ([][]byte, error) {
	const most = 256 // packets in one batch
	for {
		ss.mu.Lock()
		if ss.closed {
			ss.mu.Unlock()
			return nil, errClosed
		}
		if poll && (ss.upgraded || ss.noop) {
			ss.noop = false
			ss.mu.Unlock()
			return [][]byte{{engineNoop}}, nil
		}
		batch := ss.out
		ss.out = nil
		conn := ss.conn
		ss.mu.Unlock()
		var events <-chan channels.Message
		if conn != nil {
			events = conn.Messages()
		}
		for more := true; more && len(batch) < most; {
			select {
			case m := <-events:
				batch = ss.appendEvent(batch, m)
			default:
				more = false
			}
		}
		if len(batch) > 0 {
			return batch, nil
		}
		select {
		case <-ss.wake:
		case m := <-events:
			if batch = ss.appendEvent(batch, m); len(batch) > 0 {
				return batch, nil
			}
		case <-ss.ctx.Done():
			return nil, errClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

var errClosed = errors.New("socketio: socket closed")

func (ss *session) appendEvent(batch [][]byte, m channels.Message) [][]byte {
	frame, err := ss.srv.frames.Get(m)
	if err != nil {
		ss.srv.log.Error("socketio: event not sent: cannot encode its data", "event", m.Name, "err", err)
		return batch
	}
	return append(batch, frame)
}

// encodeEvent is a service event as an Engine.IO message: 42["todos created",{...}].
func encodeEvent(m channels.Message) ([]byte, error) {
	b, err := json.Marshal([]any{m.Name, m.Event.Data})
	if err != nil {
		return nil, err
	}
	return append([]byte{engineMessage, packetEvent}, b...), nil
}

// watchDrop closes the session when the hub drops its connection (its
// queue was full: the client does not keep up), even while a write to it
// is stuck.
func (ss *session) watchDrop(conn *channels.Conn) {
	s := ss.srv
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		select {
		case <-conn.Done():
		case <-ss.ctx.Done():
			return
		}
		ss.mu.Lock()
		closed := ss.closed
		ss.mu.Unlock()
		if !closed {
			s.stats.dropped.Add(1)
			s.log.Warn("socketio: socket closed: it does not keep up with events", "remote", ss.hs.RemoteAddr)
			ss.close("fell behind")
		}
	}()
}

// send queues a packet for the client.
func (ss *session) send(p []byte) {
	ss.mu.Lock()
	if !ss.closed {
		ss.out = append(ss.out, p)
	}
	ss.mu.Unlock()
	ss.signal()
}

func (ss *session) signal() {
	select {
	case ss.wake <- struct{}{}:
	default:
	}
}

// ping sends Engine.IO's ping; a pong must come within PingTimeout.
func (ss *session) ping() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return
	}
	ss.out = append(ss.out, []byte{enginePing})
	ss.signal()
	ss.pongDue = time.AfterFunc(ss.srv.opts.PingTimeout, func() {
		ss.srv.stats.timedOut.Add(1)
		ss.close("ping timeout")
	})
}

// pong arms the next ping.
func (ss *session) pong() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed || ss.pongDue == nil {
		return
	}
	ss.pongDue.Stop()
	ss.pongDue = nil
	ss.pingTimer = time.AfterFunc(ss.srv.opts.PingInterval, ss.ping)
}

// close ends the session: its socket leaves the hub, its calls' context is
// cancelled, its transports return.
func (ss *session) close(reason string) {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return
	}
	ss.closed = true
	ss.pingTimer.Stop()
	if ss.pongDue != nil {
		ss.pongDue.Stop()
	}
	conn := ss.conn
	ss.mu.Unlock()
	s := ss.srv
	s.mu.Lock() // first: once the client sees its socket closed, Stats no longer count it
	delete(s.sessions, ss.id)
	s.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	ss.cancel()
	s.log.Debug("socketio: socket closed", "sid", ss.id, "reason", reason)
}

// bad counts malformed input and closes the session.
func (ss *session) bad(what string, err error) {
	ss.srv.stats.badPackets.Add(1)
	ss.srv.log.Warn("socketio: socket closed: "+what, "remote", ss.hs.RemoteAddr, "err", err)
	ss.close(what)
}
