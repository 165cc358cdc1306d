// Package registry is an expiring service registry over the broker that
// eventsync replicas already share: instances of apps that hold different
// services find each other, with no extra server and no open port.
//
// An instance joins with an app name, a version, an instance ID (new at
// every start), an optional address and metadata, and the services it
// holds. Joining asks everyone at once: every live member answers with its
// description, so the joiner has the full picture after about one round
// trip, with no fixed delay. Members then send small heartbeats (every
// Interval) carrying a hash of their description; a peer that holds another
// description, or none, asks that member again, so a lost message heals
// itself. A member not heard from for TTL expires, on each peer's own
// monotonic clock: no central store, no clock agreement. Close sends a
// goodbye, so a graceful stop is seen at once.
//
// The registry rides on the eventsync.Adapter contract (a URI or an
// Adapter), on the key "<Key>.registry" beside the apps' own Key, so it
// works on every adapter that passes adaptertest, custom ones included.
//
// What it guarantees: eventually consistent membership; a member that
// stops answering is reported offline (expired) within TTL plus one sweep
// (a twentieth of TTL) on every peer; a graceful Close within one broker
// trip. What it does not: agreement between peers at any instant, or
// liveness of what a member serves (a member is alive while its process
// sends heartbeats).
package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/backoff"
	"github.com/eventsync/eventsync/internal/signing"
)

// Defaults for the zero values of Options.
const (
	DefaultInterval            = 5 * time.Second
	DefaultMaxDescriptionBytes = 64 << 10
	DefaultMaxMembers          = 10_000
)

// Options configure a Registry. The zero value of every field is a usable
// default, except that one of URI and Adapter is required, and App unless
// Observe is set.
type Options struct {
	// URI selects the adapter by scheme, as eventsync.Options.URI does.
	URI string
	// Adapter is used instead of URI; the Registry owns it and closes it.
	// It must be on the registry's key (RegistryKey(Key)).
	Adapter eventsync.Adapter
	// Key is the apps' broker key (default eventsync.DefaultKey); the
	// registry uses RegistryKey(Key).
	Key string

	App      string            // the app this instance runs
	Version  string            // the app's version
	Instance string            // this instance's ID; default random, new at every start
	Addr     string            // where the instance is reached, if anywhere
	Meta     map[string]string // anything else peers should know
	// Services are the services the instance holds; nil: those of From.
	Services []ServiceInfo
	// From, if set and Services is nil, gives the services of an App.
	From *eventsync.App
	// Observe joins without being listed: no description, no heartbeats
	// (the CLI's members command does so).
	Observe bool

	// Interval is the heartbeat period; default 5 s.
	Interval time.Duration
	// TTL is how long a silent member stays listed; default 3 Intervals.
	TTL time.Duration
	// Secret signs every registry message with HMAC-SHA256 and drops
	// (Stats.Forged) what is not signed with it: nobody without it can
	// announce or evict a member. A signed message older than TTL is
	// refused (Stats.Replayed), as is one that does not come after the last
	// one heard from its sender, so that a replayed heartbeat cannot keep a
	// dead member alive. Peers' clocks must agree to well within TTL.
	Secret []byte

	// MaxDescriptionBytes bounds an encoded description; larger ones are
	// refused and counted (Stats.OverLimit). Default 64 KiB.
	MaxDescriptionBytes int
	// MaxMembers bounds the members held; past it, new ones are refused and
	// counted (Stats.Refused). Default 10,000.
	MaxMembers int
	// Logger receives the registry's logs; default slog.Default().
	Logger *slog.Logger
}

// RegistryKey is the broker key of the registry of apps on key.
func RegistryKey(key string) string {
	if key == "" {
		key = eventsync.DefaultKey
	}
	return key + ".registry"
}

func (o *Options) fill() error {
	if o.URI == "" && o.Adapter == nil {
		return eventsync.ErrNoTransport
	}
	if o.App == "" && !o.Observe {
		return errors.New("registry: Options.App is required unless Observe is set")
	}
	if o.Instance == "" {
		o.Instance = newID()
	}
	if o.Services == nil && o.From != nil {
		o.Services = ServicesOf(o.From)
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.TTL <= 0 {
		o.TTL = 3 * o.Interval
	}
	if o.MaxDescriptionBytes <= 0 {
		o.MaxDescriptionBytes = DefaultMaxDescriptionBytes
	}
	if o.MaxMembers <= 0 {
		o.MaxMembers = DefaultMaxMembers
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Registry is one instance's view of the members on a key, and its own
// announcement.
type Registry struct {
	opts    Options
	adapter eventsync.Adapter
	log     *slog.Logger
	gap     time.Duration // the least time between two descriptions of one member
	sweep   time.Duration // how often silent members are looked for

	ready  chan struct{}
	errMu  sync.Mutex
	err    error
	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	done   chan struct{} // the run goroutine has returned
	kick   chan struct{} // one slot: something is due to be sent

	mu        sync.Mutex
	subbed    bool                    // subscribed: ask everyone once
	askAll    bool                    // an ask to everyone is due
	asks      map[string]*pendingAsk  // instances to ask for their description
	local     map[string]*localMember // what this instance announces: itself, and HTTP registrations
	self      *localMember            // this instance (described unless Observe)
	members   map[string]*entry       // peers by instance
	gone      map[string]tombstone    // peers that left or expired, by instance
	nextBeat  time.Time
	nextSweep time.Time
	closed    bool

	watchers watchers
	stats    counters
	lastWarn atomic.Int64 // when bad input was last logged: once a second at most
}

// warn logs bad input at most once a second; the counters keep the tally.
func (r *Registry) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := r.lastWarn.Load()
	if now-last < int64(time.Second) || !r.lastWarn.CompareAndSwap(last, now) {
		return
	}
	r.log.Warn(msg, args...)
}

// pendingAsk is an instance heard from whose description is wanted.
type pendingAsk struct {
	heard time.Time // when it was last heard from: asking stops a TTL later
	asked time.Time // when it was last asked
}

// localMember is a member this registry announces.
type localMember struct {
	desc    description
	seq     uint64    // numbers its messages
	infoDue bool      // its description is due (asked for, or changed)
	infoAt  time.Time // the rate limit of its descriptions: see mayDescribe
	expires time.Time // an HTTP registration's end unless renewed; zero for this instance
	leaving bool      // an HTTP registration deleted: its goodbye says left
}

// entry is a peer.
type entry struct {
	member Member
	hash   string
	seq    uint64
	seen   time.Time // monotonic: when last heard from
}

// tombstone remembers a peer's last sequence number after it went, so that
// a replay of its messages cannot bring it back.
type tombstone struct {
	seq   uint64
	until time.Time
}

// Join joins the registry and returns at once; Ready is closed once the
// subscription is live and everyone has been asked.
func Join(opts Options) (*Registry, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	r := &Registry{
		opts: opts, log: opts.Logger.With("registry", RegistryKey(opts.Key), "instance", opts.Instance),
		gap: min(opts.Interval/10, 250*time.Millisecond), sweep: max(opts.TTL/20, time.Millisecond),
		ready: make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1),
		asks: make(map[string]*pendingAsk), local: make(map[string]*localMember),
		members: make(map[string]*entry), gone: make(map[string]tombstone),
	}
	r.self = &localMember{}
	if !opts.Observe {
		d, err := r.describe(Member{Instance: opts.Instance, App: opts.App, Version: opts.Version,
			Addr: opts.Addr, Meta: opts.Meta, Services: opts.Services})
		if err != nil {
			return nil, err
		}
		r.self.desc = d
		r.local[opts.Instance] = r.self
	}
	r.adapter = opts.Adapter
	if r.adapter == nil {
		a, err := eventsync.Open(context.Background(), opts.URI, RegistryKey(opts.Key))
		if err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
		r.adapter = a
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.watchers.start()
	go r.run()
	return r, nil
}

// describe checks and encodes a description.
func (r *Registry) describe(m Member) (description, error) {
	d, err := describe(m)
	if err != nil {
		return description{}, fmt.Errorf("registry: describe %s: %w", m.Instance, err)
	}
	if len(d.raw) > r.opts.MaxDescriptionBytes {
		return description{}, fmt.Errorf("registry: description of %s is %d bytes, over the %d-byte limit",
			m.Instance, len(d.raw), r.opts.MaxDescriptionBytes)
	}
	return d, nil
}

// Ready is closed once the subscription is live and everyone was asked.
func (r *Registry) Ready() <-chan struct{} { return r.ready }

// Err returns the last unresolved error of subscribing or publishing.
func (r *Registry) Err() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.err
}

func (r *Registry) setErr(err error) {
	r.errMu.Lock()
	r.err = err
	r.errMu.Unlock()
}

// Instance returns this instance's ID.
func (r *Registry) Instance() string { return r.opts.Instance }

// Members returns the live members, this instance included unless it
// observes, sorted by app and instance.
func (r *Registry) Members() []Member { return r.filter(func(*Member) bool { return true }) }

// App returns the live members of app.
func (r *Registry) App(app string) []Member {
	return r.filter(func(m *Member) bool { return m.App == app })
}

// Serving returns the live members that hold the service at path.
func (r *Registry) Serving(path string) []Member {
	return r.filter(func(m *Member) bool { return m.Serves(path) })
}

func (r *Registry) filter(keep func(*Member) bool) []Member {
	r.mu.Lock()
	out := make([]Member, 0, len(r.members)+len(r.local))
	now := time.Now()
	for _, l := range r.local {
		if m := l.desc.member; keep(&m) {
			out = append(out, m.listed(now))
		}
	}
	for _, e := range r.members {
		if keep(&e.member) {
			out = append(out, e.member.listed(e.seen))
		}
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].App != out[j].App {
			return out[i].App < out[j].App
		}
		return out[i].Instance < out[j].Instance
	})
	return out
}

// WaitApp waits until app has a live member, and returns one.
func (r *Registry) WaitApp(ctx context.Context, app string) (Member, error) {
	return r.wait(ctx, "app "+app, func(m *Member) bool { return m.App == app })
}

// WaitPath waits until the service at path has a live member, and returns one.
func (r *Registry) WaitPath(ctx context.Context, path string) (Member, error) {
	return r.wait(ctx, "service "+path, func(m *Member) bool { return m.Serves(path) })
}

func (r *Registry) wait(ctx context.Context, what string, match func(*Member) bool) (Member, error) {
	found := make(chan Member, 1)
	off := r.Watch(func(c Change) {
		if c.Kind != Offline && match(&c.Member) {
			select {
			case found <- c.Member:
			default:
			}
		}
	})
	defer off()
	if ms := r.filter(match); len(ms) > 0 { // after Watch: nothing is missed between the two
		return ms[0], nil
	}
	select {
	case m := <-found:
		return m, nil
	case <-ctx.Done():
		return Member{}, fmt.Errorf("registry: waiting for %s: %w", what, ctx.Err())
	}
}

// Update changes this instance's description and announces it (a
// "changed" change on every peer).
func (r *Registry) Update(change func(m *Member)) error {
	if r.opts.Observe {
		return errors.New("registry: update: an observer has no description")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.self.desc.member
	change(&m)
	m.Instance = r.opts.Instance
	d, err := r.describe(m)
	if err != nil {
		return err
	}
	r.self.desc, r.self.infoDue, r.self.infoAt = d, true, time.Time{}
	r.wake()
	return nil
}

func (r *Registry) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run subscribes (retrying with backoff), then sends what is due and
// expires silent members until Close.
func (r *Registry) run() {
	defer close(r.done)
	var bo backoff.Backoff
	for {
		err := r.adapter.Subscribe(r.ctx, r.deliver)
		if err == nil {
			break
		}
		if r.ctx.Err() != nil {
			return
		}
		r.setErr(err)
		r.log.Warn("registry: subscribe failed, retrying", "err", err)
		if backoff.Sleep(r.ctx, bo.Next()) != nil {
			return
		}
	}
	r.setErr(nil)
	r.mu.Lock()
	r.subbed, r.askAll = true, true
	r.self.infoDue = !r.opts.Observe
	r.nextBeat = time.Now().Add(r.opts.Interval)
	r.mu.Unlock()
	readyClosed := false
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		msgs, next := r.due(time.Now())
		if len(msgs) > 0 {
			if err := r.publish(r.ctx, msgs); err != nil {
				if r.ctx.Err() != nil {
					return
				}
				r.stats.publishFailures.Add(1)
				r.setErr(err)
				r.log.Warn("registry: publish failed", "err", err)
				r.retry(msgs)
				next = min(next, r.gap)
			} else {
				r.setErr(nil)
				if !readyClosed {
					close(r.ready) // everyone was asked
					readyClosed = true
				}
			}
		}
		timer.Reset(next)
		select {
		case <-r.kick:
		case <-timer.C:
		case <-r.ctx.Done():
			return
		}
	}
}

// publish signs and sends msgs in one batch.
func (r *Registry) publish(ctx context.Context, msgs []wireMsg) error {
	batch := make([][]byte, 0, len(msgs))
	now := time.Now().UnixMilli()
	for i := range msgs {
		b, err := json.Marshal(&msgs[i])
		if err != nil {
			return fmt.Errorf("registry: encode: %w", err)
		}
		if len(r.opts.Secret) > 0 {
			b = signing.Sign(r.opts.Secret, b, now, true)
		}
		batch = append(batch, b)
	}
	if err := r.adapter.Publish(ctx, batch...); err != nil {
		return fmt.Errorf("registry: publish: %w", err)
	}
	r.stats.sent.Add(uint64(len(batch)))
	for _, b := range batch {
		r.stats.sentBytes.Add(uint64(len(b)))
	}
	return nil
}

// retry marks what a failed batch carried as due again.
func (r *Registry) retry(msgs []wireMsg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		switch m.T {
		case msgAsk:
			if m.To == "" {
				r.askAll = true
			} else {
				if a := r.asks[m.To]; a != nil {
					a.asked = time.Time{}
				}
			}
		case msgInfo:
			if l := r.local[m.From]; l != nil {
				l.infoDue, l.infoAt = true, time.Time{}
			}
		}
	}
}

// due returns the messages due at now and how long until something else
// is due: asks, descriptions, heartbeats; and it expires silent members
// and unrenewed HTTP registrations.
func (r *Registry) due(now time.Time) (msgs []wireMsg, next time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next = r.opts.TTL
	if r.askAll {
		r.askAll = false
		msgs = append(msgs, r.message(r.self, msgAsk))
	}
	for id, a := range r.asks {
		switch {
		case now.Sub(a.heard) > r.opts.TTL: // it went silent before answering
			delete(r.asks, id)
		case now.Sub(a.asked) >= r.gap:
			ask := r.message(r.self, msgAsk)
			ask.To = id
			msgs = append(msgs, ask)
			a.asked = now
		default:
			next = min(next, r.gap-now.Sub(a.asked))
		}
	}
	beat := !now.Before(r.nextBeat)
	if beat {
		r.nextBeat = now.Add(r.opts.Interval)
	}
	next = min(next, r.nextBeat.Sub(now))
	gap := r.infoGap()
	for id, l := range r.local {
		if !l.expires.IsZero() && now.After(l.expires) {
			bye := r.message(l, msgBye)
			bye.Reason = ReasonExpired
			if l.leaving {
				bye.Reason = ReasonLeft
			}
			msgs = append(msgs, bye)
			delete(r.local, id)
			r.notify(Change{Kind: Offline, Reason: bye.Reason, Member: l.desc.member})
			continue
		}
		switch {
		case l.infoDue:
			if wait := l.mayDescribe(now, gap, len(r.members)); wait > 0 {
				next = min(next, wait)
				break
			}
			l.infoDue = false
			msgs = append(msgs, r.message(l, msgInfo))
		case beat:
			msgs = append(msgs, r.message(l, msgBeat))
		}
	}
	if !now.Before(r.nextSweep) { // not at every wake-up: an ask wakes it, and members may be many
		r.nextSweep = now.Add(r.sweep)
		for id, e := range r.members {
			if now.Sub(e.seen) > r.opts.TTL {
				r.drop(id, e, ReasonExpired, now)
			}
		}
		for id, t := range r.gone {
			if now.After(t.until) {
				delete(r.gone, id)
			}
		}
	}
	next = min(next, r.nextSweep.Sub(now))
	return msgs, max(next, time.Millisecond)
}

// infoGap is the least time between two descriptions of one member. Every
// description reaches every member, so while many join at once, answers to
// their asks are coalesced: each member describes itself at most once per
// gap, which grows with the membership (250 ms up to 50 members, 5 ms a
// member beyond), never beyond half an Interval. An ask is answered by
// the next description sent after it arrives. The caller holds r.mu.
func (r *Registry) infoGap() time.Duration {
	return min(max(r.gap, time.Duration(len(r.members))*5*time.Millisecond), r.opts.Interval/2)
}

// mayDescribe returns 0 and counts a description if l may send one at now,
// or how long until it may: a generic cell rate of one per gap, with a
// burst of three while the membership is small (a joiner or a few are
// answered at once), none beyond 50 members (where every description
// costs a delivery to each of them).
func (l *localMember) mayDescribe(now time.Time, gap time.Duration, members int) time.Duration {
	burst := time.Duration(2)
	if members > 50 {
		burst = 0
	}
	if wait := l.infoAt.Add(-burst * gap).Sub(now); wait > 0 {
		return wait
	}
	if l.infoAt.Before(now) {
		l.infoAt = now
	}
	l.infoAt = l.infoAt.Add(gap)
	return 0
}

// message builds a message of kind from l, numbered.
func (r *Registry) message(l *localMember, kind string) wireMsg {
	l.seq++
	m := wireMsg{T: kind, From: r.opts.Instance, Seq: l.seq}
	if l != r.self {
		m.From = l.desc.member.Instance
	}
	if kind != msgAsk && kind != msgBye {
		m.Hash = l.desc.hash
	}
	if kind == msgInfo {
		m.Member = l.desc.raw
	}
	return m
}

// drop removes a peer, remembering its last number. The caller holds r.mu.
func (r *Registry) drop(id string, e *entry, reason string, now time.Time) {
	delete(r.members, id)
	delete(r.asks, id)
	if len(r.gone) < r.opts.MaxMembers {
		r.gone[id] = tombstone{seq: e.seq, until: now.Add(10 * r.opts.TTL)}
	}
	if reason == ReasonExpired {
		r.stats.expired.Add(1)
	} else {
		r.stats.left.Add(1)
	}
	r.notify(Change{Kind: Offline, Reason: reason, Member: e.member.listed(e.seen)})
}

// Close sends a goodbye for what this registry announces, then leaves the
// broker. Peers report this instance offline (left) at once.
func (r *Registry) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	<-r.done // nothing else is sent now: the goodbyes are numbered last
	r.mu.Lock()
	var byes []wireMsg
	if r.subbed {
		for _, l := range r.local {
			bye := r.message(l, msgBye)
			bye.Reason = ReasonLeft
			byes = append(byes, bye)
		}
	}
	r.mu.Unlock()
	var errs []error
	if len(byes) > 0 {
		if err := r.publish(ctx, byes); err != nil {
			errs = append(errs, fmt.Errorf("registry: close: goodbye: %w", err))
		}
	}
	if err := r.adapter.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("registry: close: %w", err))
	}
	r.watchers.stop()
	return errors.Join(errs...)
}

// Stats are a registry's counters.
type Stats struct {
	Members         int    `json:"members"`         // live peers, not counting what this registry announces
	Sent            uint64 `json:"sent"`            // messages published
	SentBytes       uint64 `json:"sentBytes"`       // their bytes
	Received        uint64 `json:"received"`        // messages delivered by the adapter
	Malformed       uint64 `json:"malformed"`       // messages that did not decode
	Forged          uint64 `json:"forged"`          // messages without a valid signature (Secret)
	Replayed        uint64 `json:"replayed"`        // messages older than TTL or not after their sender's last
	OverLimit       uint64 `json:"overLimit"`       // descriptions over MaxDescriptionBytes, refused
	Refused         uint64 `json:"refused"`         // new members refused past MaxMembers
	Expired         uint64 `json:"expired"`         // peers that went silent for TTL
	Left            uint64 `json:"left"`            // peers that said goodbye
	PublishFailures uint64 `json:"publishFailures"` // failed publishes (what they carried is sent again)
}

type counters struct {
	sent, sentBytes, received, malformed, forged, replayed, overLimit, refused, expired, left, publishFailures atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (r *Registry) Stats() Stats {
	c := &r.stats
	r.mu.Lock()
	n := len(r.members)
	r.mu.Unlock()
	return Stats{Members: n, Sent: c.sent.Load(), SentBytes: c.sentBytes.Load(), Received: c.received.Load(), Malformed: c.malformed.Load(),
		Forged: c.forged.Load(), Replayed: c.replayed.Load(), OverLimit: c.overLimit.Load(),
		Refused: c.refused.Load(), Expired: c.expired.Load(), Left: c.left.Load(),
		PublishFailures: c.publishFailures.Load()}
}
