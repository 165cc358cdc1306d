// Package socketio serves an eventsync App to Feathers clients over
// Socket.IO, as Feathers 5's socket provider does, so that a frontend built
// with @feathersjs/socketio-client works against a Go replica unchanged.
//
// It speaks Socket.IO v4 over Engine.IO v4, on WebSocket and on HTTP
// long-polling with the upgrade between them, implemented here over
// github.com/coder/websocket. A client calls a service by emitting the
// method's name with the path, the arguments and an acknowledgement:
//
//	socket.emit("find", "todos", {done: false}, (err, result) => ...)
//	socket.emit("get", "todos", 1, {}, ...)
//	socket.emit("create", "todos", {title: "x"}, {}, ...)
//	socket.emit("update" | "patch", "todos", 1, {title: "y"}, {}, ...)
//	socket.emit("remove", "todos", 1, {}, ...)
//
// The service is called through its hooks with params["provider"] =
// "socketio", params["query"] the client's query, params["connection"] the
// connection (*channels.Conn), and the connection's own params. The
// acknowledgement carries (error, result), the error as Feathers' error JSON
// (eventsync.Error), so that a NotFound arrives as a NotFound.
//
// Service events, custom ones included, go to the connected sockets as
// "<path> <event>" with the event's data, routed by package channels: the
// same Hub and publish functions as the server-sent events of package rest.
// Nothing is sent until the hub has a publish function.
//
// Mount a Server at Socket.IO's path: mux.Handle("/socket.io/", srv).
package socketio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
)

// DefaultMaxPayload bounds a client's message (and a long-polling request
// body) unless Options say otherwise: Engine.IO's default.
const DefaultMaxPayload = 1_000_000

// Options configure a Server. The zero value is usable.
type Options struct {
	// Hub routes events to the sockets; default a new one, which sends
	// nothing until given a publish function (Server.Hub). Share one with
	// rest.Options.Hub so that both transports use the same channels.
	Hub *channels.Hub
	// OnConnect, if set, sees every Socket.IO connect with the handshake's
	// auth data and headers. It may set the connection's params, which every
	// call of the connection gets (c.SetParam("user", u)), and join it to
	// channels. An error refuses the connect: the client gets it as a
	// connect_error whose data is Feathers' error JSON.
	OnConnect func(ctx context.Context, hs Handshake, c *channels.Conn) error
	// AllowedOrigins lists the origins of browser pages that may connect from
	// another origin: "https://app.example.com", a host pattern as path.Match
	// takes them ("*.example.com"), or "*" for any. A page of the server's
	// own origin, and a client that sends no Origin (Node, Go), may always
	// connect.
	AllowedOrigins []string
	// MaxPayload bounds a client's message and a long-polling request body,
	// in bytes; default DefaultMaxPayload. A client that sends more is
	// disconnected and counted in Stats.Oversized.
	MaxPayload int64
	// WebSocketOnly refuses long-polling: behind a load balancer without
	// sticky sessions, clients must then connect with
	// io(url, {transports: ["websocket"]}).
	WebSocketOnly bool
	// PingInterval and PingTimeout are Engine.IO's heartbeat: a socket that
	// does not answer a ping within PingTimeout is closed. Defaults 25 s and
	// 20 s, as in Node.
	PingInterval, PingTimeout time.Duration
	// MaxInFlight bounds the calls of one socket running at once; default
	// 64. A socket that sends more waits: it is not read meanwhile.
	MaxInFlight int
	// Logger receives what a client is not told: the causes of 500s, bad
	// input; default slog.Default().
	Logger *slog.Logger
}

// Handshake is what a client sent when it connected.
type Handshake struct {
	// Auth is the client's auth data: io(url, {auth: {token: "..."}}).
	Auth map[string]any
	// Header holds the headers of the HTTP request that opened the session.
	Header http.Header
	// Query holds its query parameters: io(url, {query: {...}}).
	Query url.Values
	// RemoteAddr is the client's network address.
	RemoteAddr string
}

// Server serves an App over Socket.IO. It is an http.Handler.
type Server struct {
	app  *eventsync.App
	opts Options
	hub  *channels.Hub
	log  *slog.Logger

	frames channels.Frames // events encoded once for all sockets

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool
	work     sync.WaitGroup // requests, and the calls and watchers they start

	stats counters
}

type counters struct {
	connected, refused, calls, failed, badPackets, oversized, dropped, timedOut atomic.Uint64
}

// Stats are a server's counters.
type Stats struct {
	Sockets    int    `json:"sockets"`    // open Engine.IO sessions
	Connected  uint64 `json:"connected"`  // Socket.IO connects accepted
	Refused    uint64 `json:"refused"`    // connects refused by OnConnect or for an unknown namespace
	Calls      uint64 `json:"calls"`      // method calls received
	Failed     uint64 `json:"failed"`     // calls answered with an error
	BadPackets uint64 `json:"badPackets"` // malformed or out-of-order input; the socket is closed
	Oversized  uint64 `json:"oversized"`  // messages over MaxPayload; the socket is closed
	Dropped    uint64 `json:"dropped"`    // sockets closed because they did not keep up with events
	TimedOut   uint64 `json:"timedOut"`   // sockets closed because they stopped answering pings
}

// New returns a Socket.IO server for app's services, those registered later
// included.
func New(app *eventsync.App, opts Options) (*Server, error) {
	if app == nil {
		return nil, errors.New("socketio: nil app")
	}
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 25 * time.Second
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = 20 * time.Second
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	for _, o := range opts.AllowedOrigins {
		if _, err := path.Match(o, ""); err != nil {
			return nil, errors.Join(errors.New("socketio: bad pattern in AllowedOrigins: "+o), err)
		}
	}
	s := &Server{app: app, opts: opts, hub: opts.Hub, log: opts.Logger, sessions: make(map[string]*session)}
	if s.hub == nil {
		s.hub = channels.New(app, channels.Options{Logger: opts.Logger})
	}
	s.frames.Encode = encodeEvent
	return s, nil
}

// Hub returns the hub of the server's sockets, to set publish functions on.
func (s *Server) Hub() *channels.Hub { return s.hub }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.sessions)
	s.mu.Unlock()
	c := &s.stats
	return Stats{Sockets: n, Connected: c.connected.Load(), Refused: c.refused.Load(), Calls: c.calls.Load(),
		Failed: c.failed.Load(), BadPackets: c.badPackets.Load(), Oversized: c.oversized.Load(),
		Dropped: c.dropped.Load(), TimedOut: c.timedOut.Load()}
}

// Close closes every socket and waits for their calls to return. The
// clients reconnect, to another replica behind a load balancer.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.close("server closed")
	}
	s.work.Wait()
}

// enter counts a request in s.work, unless the server is closed: Close
// waits for the requests it let in, and for the calls and watchers they
// started.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.work.Add(1)
	return true
}

// Engine.IO's errors, as its clients expect them.
var (
	errTransportUnknown = engineError{0, "Transport unknown"}
	errSessionUnknown   = engineError{1, "Session ID unknown"}
	errHandshakeMethod  = engineError{2, "Bad handshake method"}
	errBadRequest       = engineError{3, "Bad request"}
	errForbidden        = engineError{4, "Forbidden"}
	errProtocol         = engineError{5, "Unsupported protocol version"}
)

type engineError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (s *Server) fail(w http.ResponseWriter, status int, e engineError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// ServeHTTP implements http.Handler: Engine.IO's handshake, long-polling
// and WebSocket requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.corsAllowed(w, r) {
		s.fail(w, http.StatusForbidden, errForbidden)
		return
	}
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := r.URL.Query()
	if q.Get("EIO") != "4" {
		s.fail(w, http.StatusBadRequest, errProtocol)
		return
	}
	transport := q.Get("transport")
	if transport != "websocket" && (transport != "polling" || s.opts.WebSocketOnly) {
		s.fail(w, http.StatusBadRequest, errTransportUnknown)
		return
	}
	if !s.enter() {
		s.fail(w, http.StatusServiceUnavailable, errBadRequest)
		return
	}
	defer s.work.Done()
	sid := q.Get("sid")
	if sid == "" {
		if r.Method != http.MethodGet {
			s.fail(w, http.StatusBadRequest, errHandshakeMethod)
			return
		}
		s.open(w, r, transport)
		return
	}
	s.mu.Lock()
	ss := s.sessions[sid]
	s.mu.Unlock()
	if ss == nil {
		s.fail(w, http.StatusBadRequest, errSessionUnknown)
		return
	}
	switch {
	case transport == "websocket":
		s.upgrade(w, r, ss)
	case r.Method == http.MethodGet:
		ss.poll(w, r)
	case r.Method == http.MethodPost:
		ss.post(w, r)
	default:
		s.fail(w, http.StatusBadRequest, errBadRequest)
	}
}

// corsAllowed checks the request's Origin and sets the CORS headers of an
// allowed cross-origin one.
func (s *Server) corsAllowed(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if u.Host != r.Host && !s.originListed(origin, u.Host) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
	}
	return true
}

func (s *Server) originListed(origin, host string) bool {
	for _, pattern := range s.opts.AllowedOrigins {
		target := host
		if strings.Contains(pattern, "://") {
			target = origin
		}
		if ok, _ := path.Match(pattern, target); ok || pattern == "*" {
			return true
		}
	}
	return false
}

// randomID returns a session or socket ID.
func randomID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
