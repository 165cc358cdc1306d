// Package natssync is the NATS adapter: core NATS publish/subscribe on the
// subject named after the key, as feathers-sync does, with one connection per
// Sync (feathers-sync opens one per publish). An optional durable mode keeps
// events in a JetStream stream so that a replica that restarts gets what it
// missed.
//
// Importing it registers the schemes nats and tls:
//
//	nats://[user:password@]host:4222[,host2:4222][?option=value]
//	tls://host:4222?tls_ca=/path/ca.pem[&tls_cert=...&tls_key=...]
//
// Options: name (connection name), durable=NAME (JetStream mode with durable
// consumer NAME; give each replica its own stable name), max_age (how long the
// stream keeps events in durable mode, default 24h), storage=file|memory
// (durable mode, default file), replicas=N (durable mode on a JetStream
// cluster: servers that keep the stream, default 1), tls_ca, tls_cert,
// tls_key.
//
// Delivery. Plain mode is at most once: core NATS keeps nothing for a
// subscriber that is disconnected, so a replica misses what is published
// while its connection is down (nats.go reconnects by itself; reconnects are
// counted). Publishing never relies on nats.go's reconnect buffer (it is
// disabled): while disconnected, Publish fails and the events wait in the
// Sync's outbox, where they are bounded and counted, and go out after the
// reconnect. Durable mode is at least once within the stream's limits: every
// event is stored before Publish returns, and a replica's durable consumer
// resumes after the last event it acknowledged, including across restarts.
// An event is acknowledged once delivered to the Sync; Close drains the
// consumer first, so what the server has sent is delivered, not dropped.
package natssync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventsync/eventsync"
)

func init() {
	eventsync.Register("nats", openURL)
	eventsync.Register("tls", openURL)
}

// Config configures an adapter beyond its connection and key.
type Config struct {
	// Durable, if set, selects durable mode with a JetStream durable consumer
	// of this name. Each replica needs its own, stable across restarts.
	Durable string
	// MaxAge is how long the stream keeps events in durable mode; default 24h.
	MaxAge time.Duration
	// MemoryStorage keeps the durable stream in memory instead of on disk.
	MemoryStorage bool
	// MaxMsgs bounds the events the durable stream keeps; 0: no bound.
	MaxMsgs int64
	// InactiveThreshold removes the durable consumer once unused this long
	// (its replica gone); 0: never.
	InactiveThreshold time.Duration
	// Replicas is how many servers of a JetStream cluster keep the durable
	// stream (1, 3 or 5); default 1. With 3 the stream survives the loss of
	// a server. It applies when the stream is created or updated.
	Replicas int
}

// Adapter publishes and subscribes on one NATS subject.
type Adapter struct {
	key  string
	cfg  Config
	dial func(...nats.Option) (*nats.Conn, error) // nil for a borrowed connection
	log  atomic.Pointer[slog.Logger]

	mu       sync.Mutex
	nc       *nats.Conn
	js       jetstream.JetStream
	sub      *nats.Subscription
	consume  jetstream.ConsumeContext
	stops    []func() // of the addresses it serves (requester.go)
	closed   bool
	closedCh chan struct{}  // closed by nats.go when an owned connection is closed
	dialer   *guardedDialer // an owned connection's; nil for a borrowed one
	noEcho   bool           // dial with nats.NoEcho: see SkipEcho

	// deliverMu lets Close wait for an in-flight delivery and stop further ones.
	deliverMu  sync.RWMutex
	delivering bool

	reconnects atomic.Uint64
	backAt     atomic.Int64 // Unix ns of the last reconnect while its backlog is delivered (recovery.go)
	recovered  atomic.Uint64
	// confirmedOn is the connection's reconnect count at the last
	// confirmation: Send and Confirm refuse a connection re-established
	// since (see eventsync.Pipeliner).
	confirmedOn atomic.Uint64
}

var (
	_ eventsync.Adapter       = (*Adapter)(nil)
	_ eventsync.StateReporter = (*Adapter)(nil)
	_ eventsync.Recoverer     = (*Adapter)(nil)
	_ eventsync.LoggerSetter  = (*Adapter)(nil)
	_ eventsync.EchoSkipper   = (*Adapter)(nil)
)

// New returns a plain-mode adapter on an existing connection. Close never
// closes that connection. Reconnect counting needs the connection's handlers,
// so it is only reported for connections the adapter dials itself.
func New(nc *nats.Conn, key string) *Adapter { return NewWithConfig(nc, key, Config{}) }

// NewWithConfig is New with a Config, for durable mode on an existing connection.
func NewWithConfig(nc *nats.Conn, key string, cfg Config) *Adapter {
	a := &Adapter{key: key, cfg: cfg, nc: nc}
	a.log.Store(slog.Default())
	if nc != nil {
		a.confirmedOn.Store(nc.Stats().Reconnects) // what happened before is not ours to resend
	}
	return a
}

// Dial returns an adapter that connects to servers (a URL or a comma-separated
// list) on Subscribe or the first Publish, with the given nats.go options
// after its own (reconnect forever, no reconnect buffer).
func Dial(servers, key string, cfg Config, opts ...nats.Option) *Adapter {
	a := &Adapter{key: key, cfg: cfg, closedCh: make(chan struct{}), dialer: new(guardedDialer)}
	a.log.Store(slog.Default())
	base := []nats.Option{
		nats.SetCustomDialer(a.dialer),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(-1), // the Sync's outbox is the buffer: bounded and counted
		nats.ReconnectHandler(func(*nats.Conn) {
			a.backAt.Store(time.Now().UnixNano())
			a.reconnects.Add(1)
			a.log.Load().Info("natssync: reconnected", "key", key)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				a.log.Load().Warn("natssync: disconnected", "key", key, "err", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			a.log.Load().Warn("natssync: async error", "key", key, "err", err)
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(a.closedCh) }),
	}
	a.dial = func(more ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(servers, slices.Concat(base, opts, more)...)
	}
	return a
}

func openURL(_ context.Context, u *url.URL, key string) (eventsync.Adapter, error) {
	if err := eventsync.CheckQuery(u, "name", "durable", "max_age", "storage", "replicas", "tls_ca", "tls_cert", "tls_key"); err != nil {
		return nil, fmt.Errorf("natssync: %w", err)
	}
	q := u.Query()
	cfg := Config{Durable: q.Get("durable"), MemoryStorage: q.Get("storage") == "memory"}
	if s := q.Get("storage"); s != "" && s != "memory" && s != "file" {
		return nil, fmt.Errorf("natssync: storage must be file or memory, not %q", s)
	}
	if s := q.Get("replicas"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5 {
			return nil, fmt.Errorf("natssync: replicas must be 1 to 5, not %q", s)
		}
		cfg.Replicas = n
	}
	if s := q.Get("max_age"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("natssync: max_age: %w", err)
		}
		cfg.MaxAge = d
	}
	var opts []nats.Option
	if n := q.Get("name"); n != "" {
		opts = append(opts, nats.Name(n))
	}
	if ca := q.Get("tls_ca"); ca != "" {
		opts = append(opts, nats.RootCAs(ca))
	}
	if c, k := q.Get("tls_cert"), q.Get("tls_key"); c != "" || k != "" {
		opts = append(opts, nats.ClientCert(c, k))
	}
	servers := *u
	servers.RawQuery = ""
	return Dial(servers.String(), key, cfg, opts...), nil
}

// SkipEcho implements eventsync.EchoSkipper: a connection the adapter dials
// after it is called asks the server not to deliver this connection's own
// messages (no_echo), which in a two-replica setup halves what each replica
// receives. A borrowed connection is left as it is. In durable mode messages
// come from the stream, not the publisher, so they still come back.
func (a *Adapter) SkipEcho() {
	a.mu.Lock()
	a.noEcho = true
	a.mu.Unlock()
}

// SetLogger implements eventsync.LoggerSetter.
func (a *Adapter) SetLogger(l *slog.Logger) { a.log.Store(l) }

// State implements eventsync.StateReporter.
func (a *Adapter) State() eventsync.AdapterState {
	a.mu.Lock()
	nc := a.nc
	a.mu.Unlock()
	return eventsync.AdapterState{Connected: nc != nil && nc.IsConnected(), Reconnects: a.reconnects.Load(), Recovered: a.recovered.Load()}
}

// conn returns the connection, dialing it first if the adapter owns it.
// The caller holds a.mu.
func (a *Adapter) conn(ctx context.Context) (*nats.Conn, error) {
	if a.closed {
		return nil, eventsync.ErrClosed
	}
	if a.nc != nil {
		return a.nc, nil
	}
	var opts []nats.Option
	if a.noEcho {
		opts = append(opts, nats.NoEcho())
	}
	nc, err := a.dialer.connect(ctx, func() (*nats.Conn, error) { return a.dial(opts...) })
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	a.nc = nc
	return nc, nil
}

// deliverGuarded wraps deliver so that it is never called after Close; it
// reports whether it called it.
func (a *Adapter) deliverGuarded(deliver func([]byte)) func([]byte) bool {
	a.deliverMu.Lock()
	a.delivering = true
	a.deliverMu.Unlock()
	return func(b []byte) bool {
		a.deliverMu.RLock()
		defer a.deliverMu.RUnlock()
		if a.delivering {
			deliver(b)
		}
		return a.delivering
	}
}

// Subscribe implements eventsync.Adapter. In plain mode it returns once the
// server has the subscription (a flush round trip); in durable mode once the
// durable consumer exists and consuming started.
func (a *Adapter) Subscribe(ctx context.Context, deliver func([]byte)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	nc, err := a.conn(ctx)
	if err != nil {
		return fmt.Errorf("natssync: subscribe: %w", err)
	}
	if a.sub != nil || a.consume != nil {
		return errors.New("natssync: subscribe: already subscribed")
	}
	guarded := a.deliverGuarded(deliver)
	if a.cfg.Durable != "" {
		return a.subscribeDurable(ctx, nc, guarded)
	}
	sub, err := nc.Subscribe(a.key, func(m *nats.Msg) { guarded(m.Data) })
	if err != nil {
		return fmt.Errorf("natssync: subscribe %q: %w", a.key, err)
	}
	if err := flush(ctx, nc); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("natssync: subscribe %q: flush: %w", a.key, err)
	}
	a.sub = sub
	return nil
}

// streamName derives a JetStream stream name from the key (names may not
// contain '.', '*', '>' or spaces).
func streamName(key string) string {
	return "EVENTSYNC_" + strings.Map(func(r rune) rune {
		if r == '.' || r == '*' || r == '>' || r == ' ' || r == '\t' {
			return '_'
		}
		return r
	}, key)
}

func (a *Adapter) jetStream(ctx context.Context, nc *nats.Conn) (jetstream.JetStream, string, error) {
	if a.js == nil {
		js, err := jetstream.New(nc)
		if err != nil {
			return nil, "", fmt.Errorf("jetstream: %w", err)
		}
		a.js = js
	}
	storage := jetstream.FileStorage
	if a.cfg.MemoryStorage {
		storage = jetstream.MemoryStorage
	}
	maxAge := a.cfg.MaxAge
	if maxAge <= 0 {
		maxAge = 24 * time.Hour
	}
	name := streamName(a.key)
	_, err := a.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{a.key}, MaxAge: maxAge, Storage: storage, Replicas: max(a.cfg.Replicas, 1),
		MaxMsgs: unbounded(a.cfg.MaxMsgs),
	})
	if err != nil {
		return nil, "", fmt.Errorf("stream %s: %w", name, err)
	}
	return a.js, name, nil
}

// ackWait is how long the server waits for a durable delivery's
// acknowledgement before it delivers it again.
const ackWait = 2 * time.Second

// unbounded is n, or -1 (JetStream's "no limit") for 0.
func unbounded(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

func (a *Adapter) subscribeDurable(ctx context.Context, nc *nats.Conn, deliver func([]byte) bool) error {
	js, stream, err := a.jetStream(ctx, nc)
	if err != nil {
		return fmt.Errorf("natssync: subscribe: %w", err)
	}
	// A new durable consumer starts with what is published from now on; an
	// existing one resumes after the last message it acknowledged.
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: a.cfg.Durable, AckPolicy: jetstream.AckExplicitPolicy, InactiveThreshold: a.cfg.InactiveThreshold,
		// A delivery lost with a broken connection comes again after this,
		// not after JetStream's default 30 s: a message is acknowledged as
		// soon as it is handed over.
		AckWait:       ackWait,
		DeliverPolicy: jetstream.DeliverNewPolicy, FilterSubject: a.key,
	})
	if err != nil {
		return fmt.Errorf("natssync: subscribe: consumer %q: %w", a.cfg.Durable, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		a.countRecovered(m)
		if deliver(m.Data()) {
			_ = m.Ack()
		} else {
			// Closed before the drain finished (Close's context ended): not
			// delivered, so refused rather than acknowledged and lost.
			_ = m.Nak()
		}
	}, jetstream.PullExpiry(pullExpiry), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		a.log.Load().Warn("natssync: durable consumer", "key", a.key, "durable", a.cfg.Durable, "err", err)
	}))
	if err != nil {
		return fmt.Errorf("natssync: subscribe: consume: %w", err)
	}
	a.consume = cc
	return nil
}

// pullExpiry bounds how long one pull request of a durable consumer waits
// at the server (nats.go's default is 30 seconds, with heartbeats every 15).
// A request whose heartbeats stop is replaced after two of them are missed,
// so the shorter expiry also bounds a stall of the catch-up to seconds.
const pullExpiry = 5 * time.Second

// flush is a PING/PONG round trip; nats.go wants a deadline for it, so a
// context without one gets 10 seconds.
func flush(ctx context.Context, nc *nats.Conn) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	return nc.FlushWithContext(ctx)
}

// Publish implements eventsync.Adapter: send, then confirm, on a connection
// that may have been re-established since the last confirmation (which
// Send and Confirm refuse, see eventsync.Pipeliner).
func (a *Adapter) Publish(ctx context.Context, msgs ...[]byte) error {
	a.mu.Lock()
	nc := a.nc
	a.mu.Unlock()
	var gen uint64 // read before writing: a reconnection after it fails the confirmation
	if nc != nil {
		gen = nc.Stats().Reconnects
	}
	nc, err := a.sendOn(ctx, msgs)
	if err != nil {
		return err
	}
	return a.confirm(ctx, nc, gen)
}

// Send implements eventsync.Pipeliner. Plain mode writes the batch to the
// connection's buffer, which nats.go's flusher goroutine writes out at once
// (a Confirm is not needed for the messages to leave); durable mode
// publishes it asynchronously to JetStream and waits for every
// acknowledgement, so there Confirm has nothing left to do. After a
// reconnection it fails until a Publish succeeds: what was sent on the lost
// connection may be lost, and must be published again before anything
// newer.
func (a *Adapter) Send(ctx context.Context, msgs ...[]byte) error {
	if err := a.sameConnection(); err != nil {
		return err
	}
	_, err := a.sendOn(ctx, msgs)
	return err
}

// Confirm implements eventsync.Pipeliner: in plain mode a flush, one round
// trip that returns once the server has processed everything written
// before it on this connection.
func (a *Adapter) Confirm(ctx context.Context) error {
	if err := a.sameConnection(); err != nil {
		return err
	}
	a.mu.Lock()
	nc, err := a.conn(ctx)
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("natssync: publish: %w", err)
	}
	return a.confirm(ctx, nc, a.confirmedOn.Load())
}

// sameConnection fails when the connection was re-established since the
// last confirmation.
func (a *Adapter) sameConnection() error {
	a.mu.Lock()
	nc := a.nc
	a.mu.Unlock()
	if nc != nil && nc.Stats().Reconnects != a.confirmedOn.Load() {
		return errors.New("natssync: publish: reconnected since the last flush: what was sent may be lost")
	}
	return nil
}

// confirm flushes nc and, if it is still the connection of generation gen
// (its reconnect count), records that everything sent is confirmed.
func (a *Adapter) confirm(ctx context.Context, nc *nats.Conn, gen uint64) error {
	if a.cfg.Durable == "" {
		if err := flush(ctx, nc); err != nil {
			return fmt.Errorf("natssync: publish: flush: %w", err)
		}
	}
	if nc.Stats().Reconnects != gen {
		return errors.New("natssync: publish: reconnected during the flush: what was sent may be lost")
	}
	a.confirmedOn.Store(gen)
	return nil
}

// sendOn writes msgs on the adapter's connection and returns it.
func (a *Adapter) sendOn(ctx context.Context, msgs [][]byte) (*nats.Conn, error) {
	a.mu.Lock()
	nc, err := a.conn(ctx)
	if err == nil && a.cfg.Durable != "" && a.js == nil {
		_, _, err = a.jetStream(ctx, nc)
	}
	js := a.js
	a.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("natssync: publish: %w", err)
	}
	if !nc.IsConnected() {
		// Written now, the batch would wait in nats.go's reconnect buffer.
		return nil, fmt.Errorf("natssync: publish: not connected (status %v)", nc.Status())
	}
	if a.cfg.Durable != "" {
		return nc, a.publishDurable(ctx, js, msgs)
	}
	for _, m := range msgs {
		if err := nc.Publish(a.key, m); err != nil {
			return nil, fmt.Errorf("natssync: publish: %w", err)
		}
	}
	return nc, nil
}

func (a *Adapter) publishDurable(ctx context.Context, js jetstream.JetStream, msgs [][]byte) error {
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		f, err := js.PublishAsync(a.key, m)
		if err != nil {
			return fmt.Errorf("natssync: publish to stream: %w", err)
		}
		futures = append(futures, f)
	}
	// An acknowledgement lost with a stream leader that died never comes:
	// past pubAckWait the batch fails and the Sync publishes it again
	// (receivers drop the repeats by sequence number).
	timeout := time.NewTimer(pubAckWait)
	defer timeout.Stop()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("natssync: publish to stream: %w", err)
		case <-timeout.C:
			return fmt.Errorf("natssync: publish to stream: no acknowledgement within %v", pubAckWait)
		case <-ctx.Done():
			return fmt.Errorf("natssync: publish to stream: %w", ctx.Err())
		}
	}
	return nil
}

// pubAckWait bounds the wait for a durable batch's acknowledgements.
const pubAckWait = 5 * time.Second

// Close implements eventsync.Adapter. An owned connection is drained: the
// subscription stops, pending publishes are flushed, then it closes. On a
// borrowed connection the subscription is removed and the connection flushed.
func (a *Adapter) Close(ctx context.Context) error {
	if a.dialer != nil { // a connect that holds a.mu on a silent server ends with ctx
		stop := context.AfterFunc(ctx, a.dialer.abort)
		defer stop()
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	nc, sub, cc, stops := a.nc, a.sub, a.consume, a.stops
	a.mu.Unlock()
	for _, stop := range stops { // the addresses it serves (requester.go)
		stop()
	}

	if cc != nil {
		// Drain, not Stop, and before deliveries end: what the server has
		// sent is delivered and acknowledged. Dropped, it would reach the
		// durable consumer's next subscriber only after the server's
		// acknowledgement deadline (30 seconds), and out of order.
		cc.Drain()
		select {
		case <-cc.Closed():
		case <-ctx.Done():
		}
	}
	a.deliverMu.Lock() // waits for an in-flight delivery
	a.delivering = false
	a.deliverMu.Unlock()
	if nc == nil {
		return nil
	}
	if a.dial == nil { // borrowed
		var errs []error
		if sub != nil {
			errs = append(errs, sub.Unsubscribe())
		}
		if nc.IsConnected() {
			errs = append(errs, flush(ctx, nc))
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("natssync: close: %w", err)
		}
		return nil
	}
	if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		nc.Close()
	}
	select {
	case <-a.closedCh:
		return nil
	case <-ctx.Done():
		nc.Close()
		return fmt.Errorf("natssync: close: drain: %w", ctx.Err())
	}
}
