package eventsync

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsync/eventsync/internal/outbox"
	"github.com/eventsync/eventsync/serializer"
)

// DefaultKey is the broker key (channel, exchange, subject, collection) that
// feathers-sync uses by default.
const DefaultKey = "feathers-sync"

// Defaults for the zero values of Options.
const (
	DefaultOutboxSize      = 10_000
	DefaultInboxSize       = 10_000
	DefaultMaxMessageBytes = 1 << 20
	DefaultMaxBatch        = 512
	DefaultMaxAge          = 2 * time.Minute
)

// MaxPipelined is how many batches a Sync keeps sent and not yet confirmed
// on an adapter that implements Pipeliner. They count in Stats.QueueLength
// besides the outbox, so while the broker is down memory holds at most
// OutboxSize plus MaxPipelined×MaxBatch events.
const MaxPipelined = 32

// OverflowPolicy decides what a full outbox drops.
type OverflowPolicy int

const (
	// DropOldest drops the oldest queued event to make room (the default):
	// after an outage, replicas get the most recent state.
	DropOldest OverflowPolicy = iota
	// DropNewest drops the event being emitted.
	DropNewest
)

// String returns "drop-oldest" or "drop-newest".
func (p OverflowPolicy) String() string {
	if p == DropNewest {
		return "drop-newest"
	}
	return "drop-oldest"
}

// Options configure a Sync. The zero value of every field is a usable default,
// except that one of URI and Adapter is required.
type Options struct {
	// URI selects and configures the adapter by scheme, for example
	// "redis://localhost:6379", "amqp://guest:guest@localhost:5672",
	// "nats://localhost:4222", "mongodb://localhost:27017/db", "mem://test".
	// The query parameter serializer=json|msgpack|bson picks the serializer;
	// recovery=DURATION and recovery_events=N set Recovery.
	URI string
	// Adapter is used instead of URI. The Sync owns it and closes it on Close.
	Adapter Adapter
	// Key is the broker channel, exchange, subject or collection. Default "feathers-sync".
	Key string
	// Serializer encodes messages; default serializer.JSON (the feathers-sync wire).
	Serializer serializer.Serializer
	// Logger receives the Sync's logs; default slog.Default().
	Logger *slog.Logger
	// ReplicaID identifies this replica in the "origin" field; default
	// random. Two live replicas on one key must never share an ID (each
	// would drop the other's events as its own echoes), but a replica may
	// take its ID again when it restarts (a pod or host name): every
	// Configure starts a new epoch, sent with each message, so receivers
	// tell the new run's events from the old run's.
	ReplicaID string
	// RoundTrip makes the origin emit its own events only when they come back
	// from the broker, as feathers-sync does, so that every replica sees one
	// broker order. By default the origin emits at once and drops its echo.
	RoundTrip bool
	// ExportParams lists the params keys that travel with an event's context,
	// and that are accepted from others. Nil means "query" and "provider".
	ExportParams []string
	// ExportContext, if set, replaces the default context export entirely.
	ExportContext func(hc *HookContext) *serializer.Context
	// PublishFilter, if set, publishes only events for which it returns true.
	PublishFilter func(path, event string) bool
	// AcceptFilter, if set, dispatches only received events for which it
	// returns true. It may be called more than once per message, and from
	// several goroutines at once (see Emitter.DataType).
	AcceptFilter func(path, event string) bool
	// OutboxSize bounds the events waiting to be published; default 10,000.
	OutboxSize int
	// Overflow decides what a full outbox drops; default DropOldest.
	Overflow OverflowPolicy
	// InboxSize bounds the messages received but not yet dispatched; default
	// 10,000. When it is full, received messages are dropped and counted.
	InboxSize int
	// MaxMessageBytes limits an encoded message on both sides; default 1 MiB.
	MaxMessageBytes int
	// MaxBatch limits the messages per Adapter.Publish call; default 512,
	// at most 1,024 (receivers recognise a re-sent batch within a window
	// of numbers sized for MaxPipelined batches of that size).
	MaxBatch int
	// Secret, if set, signs every message with HMAC-SHA256 and makes the
	// Sync drop (and count in Stats.Forged) every received message without a
	// valid signature, so that whoever can publish on the broker without the
	// secret cannot inject events. All eventsync replicas on the key need the
	// same secret; feathers-sync peers can read signed JSON messages but not
	// sign theirs, so their events are dropped.
	Secret []byte
	// MaxAge, with Secret, refuses a signed message that was signed more
	// than MaxAge before (or after) this replica's clock reads its arrival,
	// counted in Stats.Replayed: a message captured from the broker cannot
	// be replayed later. Default 2 minutes; the replicas' clocks must agree
	// to well within it. A replay inside MaxAge is refused as a repeat by
	// every replica that received the original; see docs/wire.md.
	MaxAge time.Duration
	// TailInterval is how long a replica stays quiet after publishing before
	// it announces its last sequence number (TailEvent), so that receivers
	// count lost last events within about that time; default
	// DefaultTailInterval, negative: never.
	TailInterval time.Duration
	// Recovery asks the broker to keep what is published while this
	// replica's connection is broken, and deliver it when it is back; off by
	// default (feathers-sync's at-most-once wire on Redis and RabbitMQ).
	// An adapter that cannot recover makes Configure fail.
	Recovery Recovery
}

func (o *Options) fill() {
	if o.Key == "" {
		o.Key = DefaultKey
	}
	if o.Serializer == nil {
		o.Serializer = serializer.JSON
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ReplicaID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		o.ReplicaID = hex.EncodeToString(b[:])
	}
	if o.ExportParams == nil {
		o.ExportParams = []string{"query", "provider"}
	}
	if o.OutboxSize <= 0 {
		o.OutboxSize = DefaultOutboxSize
	}
	if o.TailInterval == 0 {
		o.TailInterval = DefaultTailInterval
	}
	if o.InboxSize <= 0 {
		o.InboxSize = DefaultInboxSize
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	o.MaxBatch = min(o.MaxBatch, maxMaxBatch)
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
}

// Sync keeps an Emitter's service events in step with other replicas.
type Sync struct {
	opts    Options
	em      Emitter
	adapter Adapter
	typ     string
	log     *slog.Logger
	// jsonWire: messages are JSON objects (signatures go inside them).
	jsonWire bool
	limiter  logLimiter

	ready  chan struct{}
	errMu  sync.Mutex
	subErr error // last failed Subscribe, until one succeeds
	pubErr error // last failed Publish, until one succeeds

	closing         atomic.Bool // set by Close, which then closes the outbox
	removeIntercept func()

	outbox       *outbox.Queue
	inbox        *outbox.Queue   // received, not yet dispatched; full: the newest is dropped
	runCtx       context.Context // subscribe attempts
	cancelRun    context.CancelFunc
	pubCtx       context.Context // publish retries; canceled when Close gives up
	cancelPub    context.CancelFunc
	draining     chan struct{} // closed by Close: the publisher ends once the outbox is empty
	stopDispatch chan struct{} // closed by Close after the adapter stopped delivering
	pubDone      chan struct{}
	subDone      chan struct{}
	dispatchDone chan struct{}

	closeStarted atomic.Bool
	closeErr     error         // set before closed is closed
	closed       chan struct{} // closed when the first Close has finished
	abandon      chan struct{} // closed by Close when its ctx ends: dispatch stops at once
	stats        counters
	epoch        uint64        // this run of the replica, sent with every message
	seq          atomic.Uint64 // numbers published messages
	lastPath     atomic.Value  // string: the path of the last event encoded, for tail announcements
	// heldReconnects is the adapter's reconnect count at the last holdBack
	// (the publisher goroutine's own).
	heldReconnects uint64
	// numberFn is s.number, bound once (see serializer.Numberer).
	numberFn func(size int) (uint64, error)
	// now reads the clock for signing and for MaxAge; a test may stop it.
	now      func() time.Time
	inFlight atomic.Int64 // events in the batch being published
	seqs     sequences    // owned by the dispatch goroutine
	// decodeWorkers is how many goroutines decode a large received batch.
	decodeWorkers atomic.Int32
	// outgoing recycles what syncOut hands the serializer, which escapes
	// through the interface call: two allocations per event otherwise.
	outgoing sync.Pool
	// typed is the serializer when it decodes data in the envelope's pass;
	// typeOf is s.dataType, bound once (a method value per call allocates).
	typed  serializer.TypedDecoder
	typeOf func(path, event string) (reflect.Type, bool)
	// origins reads a message's origin for dropping echoes on arrival; nil
	// with RoundTrip (echoes are wanted) or a serializer that cannot.
	origins serializer.OriginReader
}

// Configure hooks a Sync onto em (usually an *App): every service event whose
// Sync flag is true is published, and events from other replicas are
// dispatched to em's listeners. It returns at once; wait on Ready.
//
// An emitter takes one Sync: configuring the same App twice returns an error
// wrapping ErrAlreadyConfigured, so that nothing is ever published twice.
func Configure(em Emitter, opts Options) (*Sync, error) {
	if em == nil {
		return nil, errors.New("eventsync: configure: nil emitter")
	}
	if opts.Adapter == nil && opts.URI == "" {
		return nil, ErrNoTransport
	}
	typ := "custom"
	var uriSerializer string
	var u *url.URL
	if opts.Adapter == nil {
		parsed, err := parseURI(opts.URI)
		if err != nil {
			return nil, err
		}
		q := parsed.Query()
		uriSerializer = q.Get("serializer")
		q.Del("serializer")
		rec, err := recoveryFromURI(q)
		if err != nil {
			return nil, fmt.Errorf("eventsync: configure: %w", err)
		}
		if rec.Enabled() && !opts.Recovery.Enabled() {
			opts.Recovery = rec
		}
		parsed.RawQuery = q.Encode()
		u = parsed
		typ = strings.ToLower(parsed.Scheme)
	}
	if uriSerializer != "" && opts.Serializer == nil {
		ser, err := serializer.ByName(uriSerializer)
		if err != nil {
			return nil, fmt.Errorf("eventsync: configure: %w", err)
		}
		opts.Serializer = ser
	}
	opts.fill()
	s := &Sync{
		opts: opts, em: em, typ: typ, log: opts.Logger.With("replica", opts.ReplicaID),
		jsonWire:     opts.Serializer.Name() == "json",
		ready:        make(chan struct{}),
		outbox:       outbox.New(opts.OutboxSize, opts.Overflow == DropNewest),
		inbox:        outbox.New(opts.InboxSize, true),
		draining:     make(chan struct{}),
		stopDispatch: make(chan struct{}),
		pubDone:      make(chan struct{}),
		subDone:      make(chan struct{}),
		dispatchDone: make(chan struct{}),
		closed:       make(chan struct{}),
		abandon:      make(chan struct{}),
		epoch:        newEpoch(),
		now:          time.Now,
	}
	s.numberFn = s.number
	remove, err := em.Intercept(s.syncOut)
	if err != nil {
		return nil, fmt.Errorf("eventsync: configure: %w", err)
	}
	s.removeIntercept = remove
	s.decodeWorkers.Store(int32(decodeWorkers()))
	if td, ok := opts.Serializer.(serializer.TypedDecoder); ok {
		s.typed, s.typeOf = td, s.dataType
	}
	if or, ok := opts.Serializer.(serializer.OriginReader); ok && !opts.RoundTrip {
		s.origins = or
	}
	s.adapter = opts.Adapter
	if s.adapter == nil {
		s.adapter, err = openURL(context.Background(), u, opts.Key)
		if err != nil {
			remove()
			return nil, err
		}
	}
	if opts.Recovery.Enabled() {
		r, ok := s.adapter.(Recoverer)
		if !ok {
			err = fmt.Errorf("%w: the %s adapter cannot keep events for a replica that reconnects (Options.Recovery)", ErrInvalidArgument, typ)
		} else {
			err = r.SetRecovery(opts.Recovery, opts.ReplicaID)
		}
		if err != nil {
			remove()
			if opts.Adapter == nil { // opened here from the URI
				_ = s.adapter.Close(context.Background())
			}
			return nil, fmt.Errorf("eventsync: configure: recovery: %w", err)
		}
	}
	if ls, ok := s.adapter.(LoggerSetter); ok {
		ls.SetLogger(s.log)
	}
	if sl, ok := s.adapter.(SizeLimiter); ok {
		sl.SetMaxMessageBytes(opts.MaxMessageBytes)
	}
	if es, ok := s.adapter.(EchoSkipper); ok && !opts.RoundTrip {
		es.SkipEcho()
	}
	if ef, ok := s.adapter.(EchoFilterer); ok && !opts.RoundTrip {
		ef.SetEchoFilter(s.dropEcho)
	}
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	s.pubCtx, s.cancelPub = context.WithCancel(context.Background())
	go s.subscribeLoop()
	if p, ok := s.adapter.(Pipeliner); ok {
		go s.pipelineLoop(p)
	} else {
		go s.publishLoop()
	}
	go s.dispatchLoop()
	if opts.TailInterval > 0 {
		go s.tailLoop()
	}
	return s, nil
}

// Ready is closed once the subscription is live, like feathers-sync's
// app.sync.ready. If the broker cannot be reached it stays open while the
// Sync keeps trying; Err says why.
func (s *Sync) Ready() <-chan struct{} { return s.ready }

// Err returns the last unresolved error of subscribing or publishing, or nil
// when the last attempt of each succeeded.
func (s *Sync) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return errors.Join(s.subErr, s.pubErr)
}

func (s *Sync) setErr(field *error, err error) {
	s.errMu.Lock()
	*field = err
	s.errMu.Unlock()
}

// Type returns the adapter's URI scheme ("redis", "amqp", "nats", "mongodb",
// "mem", ...), or "custom" for an adapter passed in Options.Adapter.
func (s *Sync) Type() string { return s.typ }

// ReplicaID returns this replica's ID, sent as "origin" with every message.
func (s *Sync) ReplicaID() string { return s.opts.ReplicaID }

// Close stops publishing new events (events emitted from now on stay local),
// publishes what is still queued, closes the adapter (which waits for the
// broker's acknowledgements where it has them), stops the subscription and
// dispatches what was received. If ctx ends first, Close gives up: what was
// not sent counts in Stats.Unsent, what was received and not dispatched in
// Stats.InboxDropped, and its error says how many of each. A listener
// running then finishes on its own; no other is called.
//
// Close is idempotent and safe to call concurrently: the first call does
// the work, bounded by its ctx; every call waits for it, each within its
// own ctx, and returns the first call's result.
func (s *Sync) Close(ctx context.Context) error {
	// Not a sync.Once: its Do makes a concurrent caller wait for the first
	// one's work, whatever the caller's own ctx says.
	if s.closeStarted.CompareAndSwap(false, true) {
		s.closeErr = s.close(ctx)
		close(s.closed)
		return s.closeErr
	}
	select {
	case <-s.closed:
		return s.closeErr
	case <-ctx.Done():
		return fmt.Errorf("eventsync: close: another Close still under way: %w", context.Cause(ctx))
	}
}

func (s *Sync) close(ctx context.Context) error {
	s.closing.Store(true)
	s.outbox.Close() // no event enters it now, so the publisher's final drain sees everything
	s.removeIntercept()

	var errs []error
	close(s.draining)
	select {
	case <-s.pubDone:
	case <-ctx.Done():
		// Giving up: stop the subscription's attempts too, so that an
		// adapter whose Subscribe holds what Publish waits for lets go.
		s.cancelPub()
		s.cancelRun()
		<-s.pubDone // the publisher stops at once: it waits on pubCtx only
	}
	if n := s.stats.unsent.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("eventsync: close: %d events not sent: %w", n, context.Cause(ctx)))
	}
	s.cancelRun()
	if !awaitGrace(ctx, s.subDone) {
		errs = append(errs, fmt.Errorf("eventsync: close: %s subscribe did not return: %w", s.typ, context.Cause(ctx)))
	}
	if err := s.adapter.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("eventsync: close %s adapter: %w", s.typ, err))
	}
	close(s.stopDispatch)
	if !awaitGrace(ctx, s.dispatchDone) {
		close(s.abandon) // the dispatcher counts what it leaves in Stats.InboxDropped
		errs = append(errs, fmt.Errorf("eventsync: close: %d or more received events not dispatched: %w",
			s.inbox.Len(), context.Cause(ctx)))
	}
	s.cancelPub()
	return errors.Join(errs...)
}

// closeGrace is how long Close waits past its deadline for a goroutine it
// has just told to stop (a Subscribe whose ctx it cancelled, a dispatcher
// with nothing left), so that a prompt stop is not reported as a hang.
const closeGrace = 100 * time.Millisecond

// awaitGrace waits for done until ctx ends, then closeGrace more; it
// reports whether done was closed.
func awaitGrace(ctx context.Context, done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	case <-ctx.Done():
	}
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// newEpoch returns a random epoch in [1, 2^53): exact in JavaScript and BSON.
func newEpoch() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])>>11 | 1
}

// Stats are a Sync's counters. For every event offered for publishing,
// Emitted = Published + Dropped + Unsent + QueueLength.
type Stats struct {
	Emitted         uint64 `json:"emitted"`         // messages queued for publishing: events, and tail announcements (TailEvent)
	Published       uint64 `json:"published"`       // messages the adapter sent
	Dropped         uint64 `json:"dropped"`         // events dropped by the outbox overflow policy
	Unsent          uint64 `json:"unsent"`          // events still queued when Close gave up
	EncodeErrors    uint64 `json:"encodeErrors"`    // events whose data could not be serialized (kept local)
	Oversized       uint64 `json:"oversized"`       // messages over MaxMessageBytes, either way
	Filtered        uint64 `json:"filtered"`        // events kept back by PublishFilter or AcceptFilter
	PublishFailures uint64 `json:"publishFailures"` // failed Publish attempts (each is retried)
	Received        uint64 `json:"received"`        // messages the adapter delivered
	Dispatched      uint64 `json:"dispatched"`      // events emitted to local listeners from the broker
	Echoes          uint64 `json:"echoes"`          // own messages dropped (not RoundTrip)
	Malformed       uint64 `json:"malformed"`       // messages or data that did not decode
	UnknownPath     uint64 `json:"unknownPath"`     // messages for a path or event this app does not have
	InboxDropped    uint64 `json:"inboxDropped"`    // received messages dropped because dispatch fell behind, or Close gave up
	Forged          uint64 `json:"forged"`          // received messages without a valid signature (Options.Secret)
	Replayed        uint64 `json:"replayed"`        // signed messages older than Options.MaxAge, dropped
	Duplicates      uint64 `json:"duplicates"`      // repeats of a message already received (a retried batch), or too old to tell, dropped
	Missed          uint64 `json:"missed"`          // messages of other replicas skipped in their sequence and not (yet) arrived
	Reconnects      uint64 `json:"reconnects"`      // reconnections reported by the adapter
	ResumeGaps      uint64 `json:"resumeGaps"`      // adapter resumptions that may have missed messages
	Recovered       uint64 `json:"recovered"`       // messages the broker kept while the connection was broken (Recovery), delivered after it
	QueueLength     int    `json:"queueLength"`     // events waiting to be published (outbox, and batches sent but not confirmed)
	Ready           bool   `json:"ready"`           // the subscription went live
	Connected       bool   `json:"connected"`       // the adapter reports a live connection now
}

type counters struct {
	emitted, published, dropped, unsent, encodeErrors, oversized, filtered,
	publishFailures, received, dispatched, echoes, malformed, unknownPath, inboxDropped, forged, replayed, duplicates atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (s *Sync) Stats() Stats {
	c := &s.stats
	st := Stats{
		Emitted: c.emitted.Load(), Published: c.published.Load(), Dropped: c.dropped.Load(),
		Unsent: c.unsent.Load(), EncodeErrors: c.encodeErrors.Load(), Oversized: c.oversized.Load(),
		Filtered: c.filtered.Load(), PublishFailures: c.publishFailures.Load(),
		Received: c.received.Load(), Dispatched: c.dispatched.Load(), Echoes: c.echoes.Load(),
		Malformed: c.malformed.Load(), UnknownPath: c.unknownPath.Load(), InboxDropped: c.inboxDropped.Load(),
		Forged: c.forged.Load(), Replayed: c.replayed.Load(), Duplicates: c.duplicates.Load(), Missed: s.seqs.Missed(),
		QueueLength: s.outbox.Len() + int(s.inFlight.Load()),
	}
	select {
	case <-s.ready:
		st.Ready, st.Connected = true, true
	default:
	}
	if r, ok := s.adapter.(StateReporter); ok {
		as := r.State()
		st.Reconnects, st.Connected = as.Reconnects, st.Ready && as.Connected
		st.Malformed += as.Malformed
		st.Oversized += as.Oversized
		st.ResumeGaps = as.ResumeGaps
		st.Recovered = as.Recovered
	}
	return st
}
