// Package amqpsync is the AMQP 0.9.1 (RabbitMQ) adapter, with the topology
// of feathers-sync: a non-durable fanout exchange named after the key, and for
// each replica its own server-named, exclusive, auto-delete queue bound to it.
//
// Importing it registers the schemes amqp and amqps:
//
//	amqp://guest:guest@localhost:5672/vhost?confirm=false&ack=manual&prefetch=500&name=replica-1
//
// Options: confirm (publisher confirms, default true), ack=auto|manual
// (default auto), prefetch (with manual ack, default 1000), name (connection
// name shown in the management UI), pack (see Config.Pack; default false).
//
// amqp091-go does not reconnect; this adapter does: when the connection or a
// channel closes it redials with backoff, redeclares the exchange, queue and
// binding and starts one new consumer (the old one died with its channel), so
// there is exactly one consumer per replica after any number of reconnects.
//
// Delivery: with confirms on, a batch counts as sent only when RabbitMQ has
// confirmed every message of it; unconfirmed events stay in the Sync's outbox
// and Close returns only after the last confirm. A batch retried after a lost
// connection can deliver some events twice. The queue is per replica and
// auto-delete, so a replica misses what is published while it is
// disconnected (at most once for the subscriber side).
package amqpsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/backoff"
	"github.com/eventsync/eventsync/internal/loop"
	"github.com/eventsync/eventsync/internal/pack"
)

func init() {
	eventsync.Register("amqp", openURL)
	eventsync.Register("amqps", openURL)
}

// Config tunes the adapter. The zero value means: confirms on, automatic
// acknowledgement.
type Config struct {
	NoConfirms bool   // publish without publisher confirms
	ManualAck  bool   // acknowledge each delivery after handing it to the Sync
	Prefetch   int    // with ManualAck: unacknowledged deliveries in flight; default 1000
	Name       string // connection name
	// Pack publishes a batch of messages as one AMQP message of content type
	// PackContentType (up to 256 KiB each). RabbitMQ's cost is per message,
	// so on a busy replica this multiplies what a broker can carry; a lone
	// event still goes out alone, as a plain message. Every eventsync
	// replica reads packs whatever its own setting, but feathers-sync cannot:
	// never set it on a key that Node replicas use (a feathers-sync replica
	// that receives a pack loses its channel and receives nothing more).
	// Prefetch counts AMQP messages, so a pack is one.
	Pack bool
}

// PackContentType marks an AMQP message that carries several eventsync
// messages (Config.Pack): each message's length as an unsigned varint
// followed by the message, back to back.
const PackContentType = "application/vnd.eventsync.pack"

// acceptedContentTypes are what eventsync and feathers-sync publish; anything
// else is refused and counted as malformed.
var acceptedContentTypes = map[string]bool{
	"": true, "application/json": true, "application/octet-stream": true,
	"application/msgpack": true, "application/x-msgpack": true, "application/bson": true,
}

// Adapter publishes to and consumes from one fanout exchange.
type Adapter struct {
	key  string
	cfg  Config
	dial func(ctx context.Context) (*amqp.Connection, *corkedConn, error) // nil for a borrowed connection
	sock atomic.Pointer[corkedConn]                                       // the socket of the connection dialed last, for guard
	log  atomic.Pointer[slog.Logger]

	mu       sync.Mutex
	conn     *amqp.Connection
	cork     *corkedConn // conn's socket; nil for a borrowed connection
	pubCh    *amqp.Channel
	closed   bool
	consCh   *amqp.Channel
	deliver  func([]byte)
	super    *loop.Loop        // the supervisor, once subscribed
	consumer chan struct{}     // closed when the current consumer goroutine has ended
	packBuf  []byte            // Publish's pack, reused: amqp091-go has copied it when Publish returns
	isEcho   func([]byte) bool // set by SetEchoFilter before Subscribe

	delivering chan struct{} // held by the consumer while it delivers one message
	stopping   atomic.Bool   // set by Close: the consumer delivers and acknowledges nothing more

	nodeWarned atomic.Bool // warnIfNode has logged
	connected  atomic.Bool
	reconnects atomic.Uint64
	malformed  atomic.Uint64

	stops []func()  // of the addresses it serves (requester.go)
	reqs  *requests // the channel of its requests, once it sent one

	recovery         eventsync.Recovery // SetRecovery (recovery.go)
	queue            string             // with recovery: the replica's own queue
	consumed         atomic.Bool        // the queue was consumed once: a later declare is a reconnect
	pendingRecovered atomic.Int64       // deliveries still to count as recovered
	recovered        atomic.Uint64
	resumeGaps       atomic.Uint64
}

var (
	_ eventsync.Adapter       = (*Adapter)(nil)
	_ eventsync.StateReporter = (*Adapter)(nil)
	_ eventsync.LoggerSetter  = (*Adapter)(nil)
	_ eventsync.EchoFilterer  = (*Adapter)(nil)
	_ eventsync.Recoverer     = (*Adapter)(nil)
)

// Dial returns an adapter that connects to uri on Subscribe or the first
// Publish and reconnects by itself. The URI may name several nodes of a
// RabbitMQ cluster, amqp://user:pass@host1:5672,host2:5672/vhost: each
// connection attempt tries them in turn, starting with the one that served
// last, so that a replica whose node is lost reconnects to another.
func Dial(uri, key string, cfg Config) *Adapter {
	a := newAdapter(key, cfg)
	props := amqp.NewConnectionProperties()
	if cfg.Name != "" {
		props.SetClientConnectionName(cfg.Name)
	}
	nodes := splitHosts(uri)
	var next atomic.Int64 // the node to try first
	a.dial = func(ctx context.Context) (conn *amqp.Connection, cork *corkedConn, err error) {
		first := int(next.Load())
		for i := range nodes {
			n := (first + i) % len(nodes)
			if conn, cork, err = a.dialNode(ctx, nodes[n], props); err == nil {
				next.Store(int64(n))
				return conn, cork, nil
			}
			if ctx.Err() != nil {
				break
			}
		}
		return nil, nil, err
	}
	return a
}

// splitHosts returns one URI per host of a URI whose host part lists
// several, separated by commas.
func splitHosts(uri string) []string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return []string{uri}
	}
	auth, hostAndPath := "", rest
	if i := strings.LastIndex(rest, "@"); i >= 0 && !strings.Contains(rest[:i], "/") {
		auth, hostAndPath = rest[:i+1], rest[i+1:]
	}
	hosts, path := hostAndPath, ""
	if i := strings.Index(hostAndPath, "/"); i >= 0 {
		hosts, path = hostAndPath[:i], hostAndPath[i:]
	}
	var out []string
	for h := range strings.SplitSeq(hosts, ",") {
		out = append(out, scheme+"://"+auth+h+path)
	}
	return out
}

// dialNode connects to one node.
func (a *Adapter) dialNode(ctx context.Context, uri string, props amqp.Table) (*amqp.Connection, *corkedConn, error) {
	var cork *corkedConn
	conn, err := amqp.DialConfig(uri, amqp.Config{Heartbeat: 10 * time.Second, Properties: props, Dial: func(network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cork = &corkedConn{Conn: c}
		a.sock.Store(cork) // from now on guard can break it
		return cork, nil
	}})
	return conn, cork, err
}

// New returns an adapter on an existing connection, which it never closes.
// If that connection closes, the adapter cannot redial it: it reports itself
// disconnected and Publish fails until it is closed. Its batches are written
// one message per system call, as amqp091-go does: only a connection the
// adapter dialed itself sends a batch in one write.
func New(conn *amqp.Connection, key string, cfg Config) *Adapter {
	a := newAdapter(key, cfg)
	a.conn = conn
	return a
}

func newAdapter(key string, cfg Config) *Adapter {
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 1000
	}
	a := &Adapter{key: key, cfg: cfg, delivering: make(chan struct{}, 1)}
	a.log.Store(slog.Default())
	return a
}

func openURL(_ context.Context, u *url.URL, key string) (eventsync.Adapter, error) {
	if err := eventsync.CheckQuery(u, "confirm", "ack", "prefetch", "name", "pack"); err != nil {
		return nil, fmt.Errorf("amqpsync: %w", err)
	}
	q := u.Query()
	var cfg Config
	var err error
	if cfg.NoConfirms, err = choice(q, "confirm", "true", "false"); err != nil {
		return nil, err
	}
	if cfg.ManualAck, err = choice(q, "ack", "auto", "manual"); err != nil {
		return nil, err
	}
	if cfg.Pack, err = choice(q, "pack", "false", "true"); err != nil {
		return nil, err
	}
	if p := q.Get("prefetch"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("amqpsync: prefetch must be a positive number")
		}
		cfg.Prefetch = n
	}
	cfg.Name = q.Get("name")
	plain := *u
	plain.RawQuery = ""
	return Dial(plain.String(), key, cfg), nil
}

// choice reads a URI parameter that is either def (also when absent) or
// other, and reports whether it is other.
func choice(q url.Values, name, def, other string) (bool, error) {
	switch q.Get(name) {
	case "", def:
		return false, nil
	case other:
		return true, nil
	}
	return false, fmt.Errorf("amqpsync: %s must be %s or %s", name, def, other)
}

// SetEchoFilter implements eventsync.EchoFilterer. It applies to the
// messages of a pack, which are dropped before they are copied out of it; a
// plain message goes to the Sync, which drops its own at once anyway.
func (a *Adapter) SetEchoFilter(isEcho func(msg []byte) bool) { a.isEcho = isEcho }

// SetLogger implements eventsync.LoggerSetter.
func (a *Adapter) SetLogger(l *slog.Logger) { a.log.Store(l) }

// State implements eventsync.StateReporter.
func (a *Adapter) State() eventsync.AdapterState {
	return eventsync.AdapterState{Connected: a.connected.Load(), Reconnects: a.reconnects.Load(), Malformed: a.malformed.Load(),
		Recovered: a.recovered.Load(), ResumeGaps: a.resumeGaps.Load()}
}

// guard runs fn, whose amqp091-go calls take no context and can wait
// for a silent broker until the heartbeat gives up (30 s), until ctx ends:
// then it closes the socket under fn, which fails every call waiting on it
// (the supervisor reconnects, if it still runs). A borrowed connection's
// socket is not the adapter's to close: there fn runs unguarded.
func (a *Adapter) guard(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, a.breakSocket)
	err := fn()
	if !stop() {
		return errors.Join(err, ctx.Err())
	}
	return err
}

// breakSocket closes the socket of the connection dialed last.
func (a *Adapter) breakSocket() {
	if c := a.sock.Load(); c != nil {
		_ = c.Conn.Close()
	}
}

// connect dials (if the adapter owns the connection and has none alive),
// declares the exchange and opens the publishing channel, as long as ctx
// lets it. The caller holds a.mu.
func (a *Adapter) connect(ctx context.Context) error {
	return a.guard(ctx, func() error { return a.connectUnguarded(ctx) })
}

func (a *Adapter) connectUnguarded(ctx context.Context) error {
	if a.conn == nil || a.conn.IsClosed() {
		if a.dial == nil {
			return errors.New("borrowed connection is closed")
		}
		conn, cork, err := a.dial(ctx)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		a.conn, a.cork = conn, cork
	}
	if a.pubCh == nil || a.pubCh.IsClosed() {
		ch, err := a.conn.Channel()
		if err != nil {
			return fmt.Errorf("channel: %w", err)
		}
		if err := declareExchange(ch, a.key); err != nil {
			ch.Close()
			return err
		}
		if !a.cfg.NoConfirms {
			if err := ch.Confirm(false); err != nil {
				ch.Close()
				return fmt.Errorf("confirm mode: %w", err)
			}
		}
		a.pubCh = ch
	}
	return nil
}

// declareExchange declares the fanout exchange. An exchange of another type
// under the same name closes the channel with PRECONDITION_FAILED, which is
// reported as such instead of a hang.
func declareExchange(ch *amqp.Channel, key string) error {
	if err := ch.ExchangeDeclare(key, amqp.ExchangeFanout, false, false, false, false, nil); err != nil {
		var aerr *amqp.Error
		if errors.As(err, &aerr) && aerr.Code == amqp.PreconditionFailed {
			return fmt.Errorf("exchange %q exists with other settings (feathers-sync needs a non-durable fanout exchange): %w", key, err)
		}
		return fmt.Errorf("declare exchange %q: %w", key, err)
	}
	return nil
}

// consume declares this replica's queue, binds it and starts one consumer
// goroutine, as long as ctx lets it. The caller holds a.mu.
func (a *Adapter) consume(ctx context.Context) (closed chan *amqp.Error, err error) {
	err = a.guard(ctx, func() error {
		closed, err = a.consumeUnguarded()
		return err
	})
	return closed, err
}

func (a *Adapter) consumeUnguarded() (closed chan *amqp.Error, err error) {
	ch, err := a.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("channel: %w", err)
	}
	fail := func(e error) (chan *amqp.Error, error) { ch.Close(); return nil, e }
	if err := declareExchange(ch, a.key); err != nil {
		return fail(err)
	}
	queue, err := a.declareQueue(ch)
	if err != nil {
		return fail(fmt.Errorf("declare queue: %w", err))
	}
	if err := ch.QueueBind(queue, "", a.key, false, nil); err != nil {
		return fail(fmt.Errorf("bind queue: %w", err))
	}
	if a.cfg.ManualAck {
		if err := ch.Qos(a.cfg.Prefetch, 0, false); err != nil {
			return fail(fmt.Errorf("qos: %w", err))
		}
	}
	deliveries, err := ch.Consume(queue, "", !a.cfg.ManualAck, true, false, false, nil)
	if err != nil {
		return fail(fmt.Errorf("consume: %w", err))
	}
	closed = ch.NotifyClose(make(chan *amqp.Error, 1))
	a.consCh = ch
	done := make(chan struct{})
	a.consumer = done
	go func() {
		defer close(done)
		for d := range deliveries {
			a.delivering <- struct{}{}
			if !a.stopping.Load() { // Close stops deliveries (and acks) before it closes the channel
				a.consume1(d)
			}
			<-a.delivering
		}
	}()
	return closed, nil
}

// consume1 hands one delivery over and acknowledges it if need be.
func (a *Adapter) consume1(d amqp.Delivery) {
	a.countRecovered()
	switch {
	case d.ContentType == PackContentType:
		a.deliverPack(d.Body)
	case acceptedContentTypes[d.ContentType]:
		a.warnIfNode(d.Body)
		a.deliver(d.Body)
	default:
		a.malformed.Add(1)
		a.log.Load().Warn("amqpsync: message with unexpected content type refused", "contentType", d.ContentType)
	}
	if a.cfg.ManualAck {
		_ = d.Ack(false)
	}
}

// deliverPack delivers the messages of a pack, each in memory of its own:
// a string the Sync keeps from one must not hold the whole pack alive. A
// malformed pack is counted once, after the messages before the fault.
func (a *Adapter) deliverPack(body []byte) {
	err := pack.Unpack(body, func(msg []byte) {
		if a.isEcho == nil || !a.isEcho(msg) {
			a.deliver(bytes.Clone(msg))
		}
	})
	if err != nil {
		a.malformed.Add(1)
		a.log.Load().Warn("amqpsync: malformed pack refused", "bytes", len(body), "err", err)
	}
}

// warnIfNode logs once, with Pack on, that a feathers-sync replica publishes
// on the key: it cannot read packs (it loses its channel on the first one),
// and otherwise nothing would say so. Its JSON starts with the event, where
// eventsync's starts with the origin (or a signature).
func (a *Adapter) warnIfNode(msg []byte) {
	if a.cfg.Pack && bytes.HasPrefix(msg, []byte(`{"event":`)) && a.nodeWarned.CompareAndSwap(false, true) {
		a.log.Load().Error("amqpsync: a feathers-sync replica publishes on this key, and pack=true breaks it: turn pack off", "key", a.key)
	}
}

// Subscribe implements eventsync.Adapter. It returns once the queue is bound
// and the consumer started; a supervisor then keeps it alive.
func (a *Adapter) Subscribe(ctx context.Context, deliver func([]byte)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("amqpsync: subscribe: %w", eventsync.ErrClosed)
	}
	if a.deliver != nil {
		return errors.New("amqpsync: subscribe: already subscribed")
	}
	a.deliver = deliver
	if err := a.connect(ctx); err != nil {
		a.deliver = nil
		return fmt.Errorf("amqpsync: subscribe: %w", err)
	}
	closed, err := a.consume(ctx)
	if err != nil {
		a.deliver = nil
		return fmt.Errorf("amqpsync: subscribe: %w", err)
	}
	a.connected.Store(true)
	conn, connClosed := a.conn, a.conn.NotifyClose(make(chan *amqp.Error, 1))
	a.super = loop.Go(func(ctx context.Context) { a.supervise(ctx, closed, conn, connClosed) })
	return nil
}

// supervise waits for the consumer's channel or the connection to close,
// then rebuilds everything with backoff until it works or Close is called.
func (a *Adapter) supervise(ctx context.Context, chClosed chan *amqp.Error, watched *amqp.Connection, connClosed chan *amqp.Error) {
	for {
		var reason *amqp.Error
		select {
		case <-ctx.Done():
			return
		case reason = <-chClosed:
		case reason = <-connClosed:
		}
		a.connected.Store(false)
		a.log.Load().Warn("amqpsync: connection or channel closed, reconnecting", "key", a.key, "reason", reason)
		// A refused connection is cheap to retry, and what is published
		// until the consumer is back is lost without recovery: retry at
		// least once a second.
		bo := backoff.Backoff{Max: time.Second}
		for {
			if backoff.Sleep(ctx, bo.Next()) != nil {
				return
			}
			var err error
			a.mu.Lock()
			if a.closed {
				a.mu.Unlock()
				return
			}
			if a.consumer != nil {
				a.mu.Unlock()
				<-a.consumer // the old consumer's deliveries are closed with its channel
				a.mu.Lock()
			}
			if a.conn == watched && !a.conn.IsClosed() && reason != nil && !reason.Recover && a.dial != nil {
				_ = a.conn.Close() // a connection-level failure: start from a fresh connection
			}
			if err = a.connect(ctx); err == nil {
				chClosed, err = a.consume(ctx)
			}
			if err == nil && watched != a.conn {
				watched, connClosed = a.conn, a.conn.NotifyClose(make(chan *amqp.Error, 1))
			}
			a.mu.Unlock()
			if err == nil {
				a.connected.Store(true)
				a.reconnects.Add(1)
				a.log.Load().Info("amqpsync: reconnected", "key", a.key)
				break
			}
			a.log.Load().Warn("amqpsync: reconnect failed", "key", a.key, "err", err)
		}
	}
}

// Publish implements eventsync.Adapter. With confirms it waits until
// RabbitMQ confirmed every message of the batch.
func (a *Adapter) Publish(ctx context.Context, msgs ...[]byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("amqpsync: publish: %w", eventsync.ErrClosed)
	}
	if err := a.connect(ctx); err != nil {
		return fmt.Errorf("amqpsync: publish: %w", err)
	}
	confirms, err := a.send(ctx, msgs)
	if err != nil {
		return fmt.Errorf("amqpsync: publish: %w", err)
	}
	if a.cfg.NoConfirms {
		return nil
	}
	for _, dc := range confirms {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("amqpsync: publish: waiting for confirms: %w", err)
		}
		if !ok {
			return fmt.Errorf("amqpsync: publish: RabbitMQ refused (nacked) a message of the batch")
		}
	}
	return nil
}

// send publishes msgs, a batch in one write where the adapter dialed the
// connection itself. The caller holds a.mu.
func (a *Adapter) send(ctx context.Context, msgs [][]byte) ([]*amqp.DeferredConfirmation, error) {
	cork := a.cork
	if len(msgs) < 2 {
		cork = nil
	}
	if cork != nil {
		cork.cork()
	}
	confirms := make([]*amqp.DeferredConfirmation, 0, len(msgs))
	publish := func(body []byte, packed bool) error {
		p := amqp.Publishing{Body: body}
		if packed {
			p.ContentType = PackContentType
		}
		dc, err := a.pubCh.PublishWithDeferredConfirmWithContext(ctx, a.key, "", false, false, p)
		if err == nil {
			confirms = append(confirms, dc)
		}
		return err
	}
	var err error
	if a.cfg.Pack {
		a.packBuf, err = pack.Send(a.packBuf, msgs, publish)
	} else {
		for _, m := range msgs {
			if err = publish(m, false); err != nil {
				break
			}
		}
	}
	if cork != nil {
		if uerr := cork.uncork(); uerr != nil && err == nil {
			err = fmt.Errorf("write: %w", uerr)
		}
	}
	return confirms, err
}

// Close implements eventsync.Adapter. Publish waits for its confirms, so
// there is nothing outstanding: it stops the supervisor and the consumer and
// closes what it opened. When ctx ends first (a broker that does not answer
// the closing handshake), it closes the socket and returns.
func (a *Adapter) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	super, stops := a.super, a.stops
	a.mu.Unlock()
	for _, stop := range stops { // the addresses it serves (requester.go)
		stop()
	}
	// Registered before a.mu is taken again: a Subscribe or Publish that
	// holds it waiting on a silent broker is broken off too.
	stop := context.AfterFunc(ctx, a.breakSocket)
	defer stop()
	super.Stop()
	// No delivery after Close returns, and no ack racing the channel's
	// close (RabbitMQ answers it with a channel error): wait for the one
	// in flight, if any.
	a.stopping.Store(true)
	select {
	case a.delivering <- struct{}{}:
		<-a.delivering
	case <-ctx.Done():
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for _, ch := range []*amqp.Channel{a.consCh, a.pubCh} {
		if ch != nil && !ch.IsClosed() {
			errs = append(errs, ch.Close())
		}
	}
	if a.reqs != nil {
		_ = a.reqs.ch.Close()
		<-a.reqs.done
	}
	if a.consumer != nil {
		select {
		case <-a.consumer: // its deliveries ended with its channel
		case <-ctx.Done():
			a.breakSocket() // the channel could not close: end its deliveries with the connection
			<-a.consumer
		}
	}
	if a.dial != nil && a.conn != nil && !a.conn.IsClosed() {
		errs = append(errs, a.conn.Close())
	}
	a.connected.Store(false)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("amqpsync: close: %w", errors.Join(err, ctx.Err()))
	}
	return nil
}
