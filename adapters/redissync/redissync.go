// Package redissync is the Redis adapter: PUBLISH and SUBSCRIBE on a channel
// named after the key, exactly as feathers-sync does, so Node and Go replicas
// on one Redis see each other's events.
//
// Importing it registers these URI schemes:
//
//	redis://[user:password@]host:port[/db][?option=value]   one server (go-redis ParseURL options)
//	rediss://...                                            the same over TLS
//	redis+sentinel://[:password@]sentinel:port?master_name=mymaster[&addr=sentinel2:port]
//	rediss+sentinel://...                                   Sentinel, TLS
//	redis+cluster://[user:password@]node:port[?addr=node2:port]
//	rediss+cluster://...                                    Cluster, TLS
//
// On any of them, sharded=true selects Redis 7's sharded pub/sub
// (SPUBLISH, SSUBSCRIBE; NewSharded): on a cluster the key's channel lives
// on the shard that owns its slot instead of being broadcast to every node
// over the cluster bus, so many keys spread over the shards. feathers-sync
// publishes with PUBLISH: never set it on a key Node replicas share.
//
// Delivery is at most once: Redis pub/sub keeps nothing for a subscriber
// that is disconnected. Between a lost subscriber connection and its
// resubscription (usually milliseconds, longer if Redis itself is down), this
// replica misses whatever others publish; the reconnect is counted in
// Stats.Reconnects and logged. Publishing is safe across outages: events wait
// in the Sync's outbox and go out after Redis returns. A batch that failed
// midway is retried whole, so an outage can duplicate a few events.
//
// With a plain client (redis://, rediss://, or a *redis.Client given to New)
// the adapter speaks to Redis on two connections of its own, made with the
// client's dialer, TLS settings, password and client name: one subscribes,
// read without go-redis's per-message costs (subscription.go), and one
// publishes, pipelined (publisher.go); the pool options and hooks added
// with AddHook do not apply to them, ReadTimeout and WriteTimeout do to
// publishing. A silent subscription sends a PING after 30 s and counts a
// server that does not answer within another 30 s as lost. Sentinel and
// Cluster clients, and clients with an OnConnect hook or streaming
// credentials, subscribe and publish through go-redis.
package redissync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/loop"
)

func init() {
	for _, s := range []string{"redis", "rediss", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster"} {
		eventsync.Register(s, openURL)
	}
}

// Adapter publishes and subscribes on one Redis channel.
type Adapter struct {
	client   redis.UniversalClient
	ownsConn bool
	sharded  bool // SPUBLISH and SSUBSCRIBE instead of PUBLISH and SUBSCRIBE
	key      string
	log      atomic.Pointer[slog.Logger]

	mu          sync.Mutex
	closed      bool
	subscribing bool       // Subscribe was called and has not failed
	stopSub     func()     // ends the subscription's reads (go-redis's PubSub, or subscription.go's)
	reader      *loop.Loop // reads the subscription, once subscribed

	lean *redis.Options // the client's options when its own connections serve it (leanOptions); nil: go-redis
	pub  *publisher     // the adapter's own publishing connection when lean is set

	recovery eventsync.Recovery // SetRecovery: a stream instead of pub/sub (stream.go)
	stops    []func()           // of the addresses it serves (requester.go)
	replies  *replies           // the replies to its requests, once it sent one

	connected  atomic.Bool
	reconnects atomic.Uint64
	recovered  atomic.Uint64     // stream entries delivered after a reconnect that were added before it
	resumeGaps atomic.Uint64     // reconnects after which the stream no longer held the entry after the last read
	malformed  atomic.Uint64     // stream entries without a message
	maxBytes   atomic.Int64      // SetMaxMessageBytes; 0: Redis's own limit
	oversized  atomic.Uint64     // payloads over maxBytes, skipped unread
	isEcho     func([]byte) bool // SetEchoFilter; nil: deliver everything
}

var (
	_ eventsync.Adapter       = (*Adapter)(nil)
	_ eventsync.Pipeliner     = (*Adapter)(nil)
	_ eventsync.StateReporter = (*Adapter)(nil)
	_ eventsync.LoggerSetter  = (*Adapter)(nil)
	_ eventsync.SizeLimiter   = (*Adapter)(nil)
	_ eventsync.EchoFilterer  = (*Adapter)(nil)
	_ eventsync.Recoverer     = (*Adapter)(nil)
)

// New returns an adapter on an existing client (a *redis.Client,
// *redis.ClusterClient or failover client). Close never closes that client.
func New(client redis.UniversalClient, key string) *Adapter {
	a := &Adapter{client: client, key: key, lean: leanOptions(client)}
	if a.lean != nil {
		a.pub = &publisher{opt: a.lean, key: key}
	}
	a.log.Store(slog.Default())
	return a
}

// NewSharded is New with Redis 7's sharded pub/sub: SPUBLISH and
// SSUBSCRIBE on the key's channel, which on a cluster lives on the shard
// that owns its slot. It always goes through go-redis.
func NewSharded(client redis.UniversalClient, key string) *Adapter {
	a := &Adapter{client: client, key: key, sharded: true}
	a.log.Store(slog.Default())
	return a
}

func openURL(_ context.Context, u *url.URL, key string) (eventsync.Adapter, error) {
	q := u.Query()
	sharded := q.Get("sharded")
	if sharded != "" && sharded != "true" && sharded != "false" {
		return nil, fmt.Errorf("redissync: sharded must be true or false, not %q", sharded)
	}
	q.Del("sharded") // go-redis rejects options it does not know
	plain := *u
	plain.RawQuery = q.Encode()
	client, err := clientFromURL(&plain)
	if err != nil {
		return nil, err
	}
	a := New(client, key)
	if sharded == "true" {
		a = NewSharded(client, key)
	}
	a.ownsConn = true
	return a, nil
}

// clientFromURL builds the client for a URI; go-redis rejects unknown
// options. Its errors are rewrapped without the URI, which may hold a password.
func clientFromURL(u *url.URL) (redis.UniversalClient, error) {
	base, mode, _ := strings.Cut(strings.ToLower(u.Scheme), "+")
	plain := *u
	plain.Scheme = base
	var client redis.UniversalClient
	var err error
	switch mode {
	case "":
		var o *redis.Options
		if o, err = redis.ParseURL(plain.String()); err == nil {
			client = redis.NewClient(o)
		}
	case "sentinel":
		var o *redis.FailoverOptions
		if o, err = redis.ParseFailoverURL(plain.String()); err == nil {
			client = redis.NewFailoverClient(o)
		}
	case "cluster":
		var o *redis.ClusterOptions
		if o, err = redis.ParseClusterURL(plain.String()); err == nil {
			client = redis.NewClusterClient(o)
		}
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("redissync: %w", err)
	}
	return client, nil
}

// SetLogger implements eventsync.LoggerSetter.
func (a *Adapter) SetLogger(l *slog.Logger) { a.log.Store(l) }

// State implements eventsync.StateReporter.
func (a *Adapter) State() eventsync.AdapterState {
	return eventsync.AdapterState{Connected: a.connected.Load(), Reconnects: a.reconnects.Load(), Oversized: a.oversized.Load(),
		Recovered: a.recovered.Load(), ResumeGaps: a.resumeGaps.Load(), Malformed: a.malformed.Load()}
}

// SetMaxMessageBytes implements eventsync.SizeLimiter for subscriptions made
// after it: the adapter's own reader skips longer payloads without reading
// them into memory (go-redis's PubSub reads everything; the Sync drops it).
func (a *Adapter) SetMaxMessageBytes(n int) { a.maxBytes.Store(int64(n)) }

// SetEchoFilter implements eventsync.EchoFilterer for subscriptions made
// after it: Redis sends a publisher its own messages, and the adapter's own
// reader drops them while they are still in its buffer, uncopied.
func (a *Adapter) SetEchoFilter(isEcho func(msg []byte) bool) { a.isEcho = isEcho }

// skipped counts a payload over the limit, and logs the 1st, 2nd, 4th, 8th...
// so that a flood of them cannot flood the log.
func (a *Adapter) skipped() {
	if n := a.oversized.Add(1); n&(n-1) == 0 {
		a.log.Load().Warn("redissync: received message over the size limit skipped", "key", a.key, "limit", a.maxBytes.Load(), "skipped", n)
	}
}

// Subscribe implements eventsync.Adapter. It returns once Redis confirmed the
// SUBSCRIBE; from then on one goroutine reads, and go-redis reconnects and
// resubscribes after a lost connection.
func (a *Adapter) Subscribe(ctx context.Context, deliver func([]byte)) error {
	// a.mu is not held while Redis is dialled: Publish and Close must not
	// wait behind a server that does not answer.
	a.mu.Lock()
	switch {
	case a.closed:
		a.mu.Unlock()
		return fmt.Errorf("redissync: subscribe: %w", eventsync.ErrClosed)
	case a.subscribing:
		a.mu.Unlock()
		return errors.New("redissync: subscribe: already subscribed")
	}
	a.subscribing = true
	a.mu.Unlock()
	var start func(context.Context)
	var stop func()
	if a.recovery.Enabled() {
		r, err := a.subscribeStream(ctx, deliver)
		if err != nil {
			a.unsubscribed()
			return fmt.Errorf("redissync: subscribe to stream %q: %w", a.key, err)
		}
		start, stop = r.run, func() {}
	} else if a.lean != nil {
		limit := int(a.maxBytes.Load())
		if limit <= 0 {
			limit = maxBulk
		}
		sub := &subscription{opt: a.lean, key: a.key, deliver: deliver, isEcho: a.isEcho, a: a, idle: idleTimeout, limit: limit}
		r, err := sub.dial(ctx) // returns once Redis confirmed the SUBSCRIBE
		if err != nil {
			a.unsubscribed()
			return fmt.Errorf("redissync: subscribe %q: %w", a.key, err)
		}
		start, stop = func(ctx context.Context) { sub.run(ctx, r) }, sub.stop
	} else {
		sub := &goRedisSub{a: a, deliver: deliver}
		if err := sub.open(ctx); err != nil {
			a.unsubscribed()
			return fmt.Errorf("redissync: subscribe %q: %w", a.key, err)
		}
		start, stop = sub.run, sub.stop
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed { // Close came while Redis answered
		stop()
		return fmt.Errorf("redissync: subscribe: %w", eventsync.ErrClosed)
	}
	a.connected.Store(true)
	a.stopSub = stop
	a.reader = loop.Go(start)
	return nil
}

// unsubscribed lets a failed Subscribe be tried again.
func (a *Adapter) unsubscribed() {
	a.mu.Lock()
	a.subscribing = false
	a.mu.Unlock()
}

// payloadBytes returns the bytes of a payload go-redis has just allocated
// for one message and holds no more, without copying them: the copy was 40%
// of the bytes allocated per event on the receiving side. It is sound because
// nobody else has the string and the Sync only reads received messages
// (decoders copy what they keep).
func payloadBytes(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// Publish implements eventsync.Adapter: the whole batch goes out in one
// write (one pipeline on go-redis), and it returns once Redis answered every
// PUBLISH of it.
func (a *Adapter) Publish(ctx context.Context, msgs ...[]byte) error {
	if err := a.usable(); err != nil {
		return err
	}
	var err error
	switch {
	case a.recovery.Enabled():
		err = a.publishStream(ctx, msgs)
	case a.pub != nil:
		err = a.pub.publish(ctx, msgs)
	case len(msgs) == 1 && a.sharded:
		err = a.client.SPublish(ctx, a.key, msgs[0]).Err()
	case len(msgs) == 1:
		err = a.client.Publish(ctx, a.key, msgs[0]).Err()
	default:
		pipe := a.client.Pipeline()
		for _, m := range msgs {
			if a.sharded {
				pipe.SPublish(ctx, a.key, m)
			} else {
				pipe.Publish(ctx, a.key, m)
			}
		}
		_, err = pipe.Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("redissync: publish %d messages: %w", len(msgs), err)
	}
	return nil
}

// Send implements eventsync.Pipeliner: it writes the batch without waiting
// for Redis's replies, which Confirm reads. After a lost connection it fails
// until a Publish succeeds. With go-redis's pipelines (Cluster, Sentinel) it
// is Publish.
func (a *Adapter) Send(ctx context.Context, msgs ...[]byte) error {
	if a.pub == nil {
		return a.Publish(ctx, msgs...)
	}
	if err := a.usable(); err != nil {
		return err
	}
	if _, _, err := a.pub.send(ctx, msgs, false); err != nil {
		return fmt.Errorf("redissync: publish %d messages: %w", len(msgs), err)
	}
	return nil
}

// Confirm implements eventsync.Pipeliner: it returns once Redis answered
// every PUBLISH sent before the call.
func (a *Adapter) Confirm(ctx context.Context) error {
	if a.pub == nil {
		return a.usable() // Send was Publish
	}
	if err := a.pub.confirmSent(ctx); err != nil {
		return fmt.Errorf("redissync: publish: confirm: %w", err)
	}
	return nil
}

// usable fails after Close.
func (a *Adapter) usable() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("redissync: publish: %w", eventsync.ErrClosed)
	}
	return nil
}

// Close implements eventsync.Adapter: it waits (as long as ctx lets it) for
// Redis to answer what was sent and not confirmed, ends the subscription,
// and closes the client if the adapter created it.
func (a *Adapter) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	stopSub, reader, stops, replies := a.stopSub, a.reader, a.stops, a.replies
	a.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	if replies != nil {
		replies.close()
	}
	var errs []error
	if reader != nil {
		reader.Cancel()
		stopSub()
		reader.Wait()
	}
	a.connected.Store(false)
	if a.pub != nil {
		if err := a.pub.close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("redissync: close: confirm what was sent: %w", err))
		}
	}
	if a.ownsConn {
		if err := a.client.Close(); err != nil {
			errs = append(errs, fmt.Errorf("redissync: close client: %w", err))
		}
	}
	return errors.Join(errs...)
}
