// Package remote calls services that live in other apps, as if they were
// local: apps that share a registry key (package registry) expose some or
// all of their services, and another app gets proxy services for them,
// Services of its own App whose hooks and listeners work as for local ones.
// Calls travel over the broker the apps already share, by request and
// reply (eventsync.Requester: mem, NATS, Redis and RabbitMQ).
//
// The caller picks the instance: one request address per instance (its
// registry instance ID), among the live instances that advertise the path
// and the method, in turn. A call to an instance that is gone fails at
// once through the broker's own answer (no responders); that instance is
// then passed over for a while and the call goes to another. An attempt
// that times out is tried elsewhere for find and get only; a write that
// timed out returns a Timeout error saying it may have been applied, and
// carries a request ID that the serving instance remembers, so that a
// repeat is answered without being applied twice. Errors keep their class
// (eventsync.Error: a NotFound stays a NotFound). With no live instance a
// call fails at once with Unavailable.
package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/signing"
	"github.com/eventsync/eventsync/registry"
)

// DefaultTimeout bounds one attempt of a call unless Options say otherwise.
const DefaultTimeout = 5 * time.Second

// Options configure a Remote. Registry is required, and one of URI and
// Adapter.
type Options struct {
	// Registry tells which instances serve which paths; this instance
	// serves requests at its Registry.Instance().
	Registry *registry.Registry
	// URI or Adapter is the transport; the adapter must implement
	// eventsync.Requester. Key is the apps' key (default
	// eventsync.DefaultKey).
	URI     string
	Adapter eventsync.Adapter
	Key     string
	// Expose picks the local services other apps may call; nil: every
	// service of the App.
	Expose func(path string) bool
	// Timeout bounds one attempt, within the caller's own deadline, which
	// travels with the request; default DefaultTimeout.
	Timeout time.Duration
	// Params are the params that travel with a call; default "query" and
	// "provider" (add "user" only if the serving apps may trust it).
	Params []string
	// Workers bounds the requests this instance serves at once; default 64.
	Workers int
	// Balance picks among the live instances: RoundRobin (the default) or
	// LeastInFlight (the one this caller has the fewest calls running on).
	Balance Balance
	// Versions, if set, restricts calls to instances whose app version it
	// accepts: during a rolling deploy, func(v string) bool { return
	// strings.HasPrefix(v, "2.") }.
	Versions func(version string) bool
	// Secret signs every request and reply with HMAC-SHA256, as
	// eventsync.Options.Secret does messages: an instance drops (and counts)
	// a request not signed with it, so nobody without it can call services
	// through the broker. Every app on the key needs the same secret.
	Secret []byte
	// Logger receives what callers are not told; default slog.Default().
	Logger *slog.Logger
}

// Balance is how a caller picks among live instances.
type Balance int

const (
	// RoundRobin takes the instances in turn.
	RoundRobin Balance = iota
	// LeastInFlight takes the instance this caller has the fewest calls
	// running on.
	LeastInFlight
)

// Remote serves this app's exposed services to other apps and calls theirs.
type Remote struct {
	app   *eventsync.App
	opts  Options
	req   eventsync.Requester
	ad    eventsync.Adapter
	owned bool // the adapter was opened from URI
	stop  func()
	log   *slog.Logger
	slots chan struct{} // Workers

	proxyMu sync.Mutex // ProxyAll's check-then-register

	mu        sync.Mutex
	next      map[string]int       // round robin position by path
	suspected map[string]time.Time // instance -> until when it is passed over
	running   map[string]int       // instance -> calls in flight to it (LeastInFlight)
	done      *doneCache
	latency   latencies
	// lastOK is 1 once a call was answered (until three in a row are not),
	// lastFailed counts the unanswered calls since: what Health reports.
	lastOK, lastFailed int

	calls, failures, served, noResponders, retries, forged, malformed atomic.Uint64
	inFlight                                                          atomic.Int64
}

// Stats are a Remote's counters.
type Stats struct {
	Calls        uint64        `json:"calls"`        // calls made through proxies
	Failures     uint64        `json:"failures"`     // calls that returned an error
	Retries      uint64        `json:"retries"`      // attempts made on another instance
	NoResponders uint64        `json:"noResponders"` // attempts that reached nobody
	InFlight     int64         `json:"inFlight"`     // calls running now
	P50          time.Duration `json:"p50"`          // of the last 1,024 calls' durations
	P99          time.Duration `json:"p99"`
	Served       uint64        `json:"served"`    // requests this instance served
	Forged       uint64        `json:"forged"`    // requests or replies without a valid signature, dropped (Secret)
	Malformed    uint64        `json:"malformed"` // requests or replies that did not decode
}

// New serves app's exposed services at the registry's instance address and
// returns the Remote to make proxies with.
func New(app *eventsync.App, opts Options) (*Remote, error) {
	if app == nil || opts.Registry == nil {
		return nil, errors.New("remote: an app and a registry are required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Params == nil {
		opts.Params = []string{"query", "provider"}
	}
	if opts.Workers <= 0 {
		opts.Workers = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Key == "" {
		opts.Key = eventsync.DefaultKey
	}
	r := &Remote{app: app, opts: opts, log: opts.Logger, slots: make(chan struct{}, opts.Workers),
		next: make(map[string]int), suspected: make(map[string]time.Time), running: make(map[string]int), done: newDoneCache(10_000)}
	r.ad = opts.Adapter
	if r.ad == nil {
		ad, err := eventsync.Open(context.Background(), opts.URI, opts.Key)
		if err != nil {
			return nil, fmt.Errorf("remote: %w", err)
		}
		r.ad, r.owned = ad, true
	}
	req, ok := r.ad.(eventsync.Requester)
	if !ok {
		r.closeAdapter()
		return nil, errors.New("remote: the adapter cannot send requests (eventsync.Requester)")
	}
	r.req = req
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop, err := req.Serve(ctx, opts.Registry.Instance(), r.serve)
	if err != nil {
		r.closeAdapter()
		return nil, fmt.Errorf("remote: serve: %w", err)
	}
	r.stop = stop
	return r, nil
}

func (r *Remote) closeAdapter() {
	if r.owned {
		_ = r.ad.Close(context.Background())
	}
}

// Close stops serving and, if it opened the transport, closes it.
func (r *Remote) Close(ctx context.Context) error {
	r.stop()
	if r.owned {
		return r.ad.Close(ctx)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (r *Remote) Stats() Stats {
	p50, p99 := r.latency.percentiles()
	return Stats{Calls: r.calls.Load(), Failures: r.failures.Load(), Retries: r.retries.Load(),
		NoResponders: r.noResponders.Load(), InFlight: r.inFlight.Load(), P50: p50, P99: p99,
		Served: r.served.Load(), Forged: r.forged.Load(), Malformed: r.malformed.Load()}
}

// request is a call on the wire.
type request struct {
	RID      string           `json:"rid"`
	Path     string           `json:"path"`
	Method   string           `json:"method"`
	ID       json.RawMessage  `json:"id,omitempty"`
	Data     json.RawMessage  `json:"data,omitempty"`
	Params   eventsync.Params `json:"params,omitempty"`
	Deadline int64            `json:"deadline,omitempty"` // Unix ms: the caller's deadline
}

// reply is a call's answer on the wire.
type reply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *wireError      `json:"error,omitempty"`
}

// wireError is Feathers' error JSON, read back into an eventsync.Error.
type wireError struct {
	Name      string `json:"name"`
	Message   string `json:"message"`
	Code      int    `json:"code"`
	ClassName string `json:"className"`
	Data      any    `json:"data,omitempty"`
}

func (w *wireError) err() *eventsync.Error {
	return &eventsync.Error{Name: w.Name, Message: w.Message, Code: w.Code, ClassName: w.ClassName, Data: w.Data}
}

func newRID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// instances returns the live instances that serve method on path, in the
// order to try them: round robin, suspected ones last.
func (r *Remote) instances(path, method string) []registry.Member {
	self := r.opts.Registry.Instance()
	var ok []registry.Member
	for _, m := range r.opts.Registry.Serving(path) {
		if m.Via != "" || m.Instance == self {
			continue // registered over HTTP: not callable through the broker
		}
		if r.opts.Versions != nil && !r.opts.Versions(m.Version) {
			continue
		}
		for _, s := range m.Services {
			if s.Path == path && slices.Contains(s.Methods, method) {
				ok = append(ok, m)
				break
			}
		}
	}
	slices.SortFunc(ok, func(a, b registry.Member) int { return strings.Compare(a.Instance, b.Instance) })
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(ok) > 0 {
		start := r.next[path] % len(ok)
		r.next[path]++
		ok = append(ok[start:], ok[:start]...)
	}
	if r.opts.Balance == LeastInFlight {
		slices.SortStableFunc(ok, func(a, b registry.Member) int { return r.running[a.Instance] - r.running[b.Instance] })
	}
	now := time.Now()
	slices.SortStableFunc(ok, func(a, b registry.Member) int {
		return boolInt(r.suspected[a.Instance].After(now)) - boolInt(r.suspected[b.Instance].After(now))
	})
	return ok
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// suspect passes an instance over for a while: the registry expires it
// soon if it is gone.
func (r *Remote) suspect(instance string) {
	r.mu.Lock()
	r.suspected[instance] = time.Now().Add(10 * time.Second)
	r.mu.Unlock()
}

// Call calls method on the service at path in another app and returns the
// result's JSON: what a proxy does. id and data are encoded as JSON.
func (r *Remote) Call(ctx context.Context, path, method string, id, data any, params eventsync.Params) (json.RawMessage, error) {
	r.calls.Add(1)
	r.inFlight.Add(1)
	start := time.Now()
	res, served, err := r.call(ctx, path, method, id, data, params)
	if h := eventsync.HTTPFrom(ctx); h != nil && served != "" {
		h.Header.Set("Served-By", served) // which instance answered, for an HTTP client
	}
	r.latency.add(time.Since(start))
	r.inFlight.Add(-1)
	r.mu.Lock()
	if unreachable(err) {
		r.lastFailed++
		if r.lastFailed >= 3 {
			r.lastOK = 0
		}
	} else {
		r.lastOK, r.lastFailed = 1, 0
	}
	r.mu.Unlock()
	if err != nil {
		r.failures.Add(1)
	}
	return res, err
}

// attempt sends one request to instance, counting it in flight there.
func (r *Remote) attempt(ctx context.Context, instance string, body []byte) ([]byte, error) {
	r.mu.Lock()
	r.running[instance]++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.running[instance]--; r.running[instance] <= 0 {
			delete(r.running, instance)
		}
		r.mu.Unlock()
	}()
	if len(r.opts.Secret) > 0 {
		body = signing.Sign(r.opts.Secret, body, time.Now().UnixMilli(), true)
	}
	raw, err := r.req.Request(ctx, instance, body)
	if err != nil || len(r.opts.Secret) == 0 {
		return raw, err
	}
	reply, _, ok := signing.Verify(r.opts.Secret, raw, true)
	if !ok {
		r.forged.Add(1)
		return nil, eventsync.GeneralError("a reply without a valid signature from " + instance)
	}
	return reply, nil
}

// call returns the result and the instance that answered.
func (r *Remote) call(ctx context.Context, path, method string, id, data any, params eventsync.Params) (json.RawMessage, string, error) {
	q := request{RID: newRID(), Path: path, Method: method, Params: eventsync.Params{}}
	var err error
	if id != nil {
		if q.ID, err = json.Marshal(id); err != nil {
			return nil, "", eventsync.BadRequest("the id does not encode as JSON: " + err.Error())
		}
	}
	if data != nil {
		if q.Data, err = json.Marshal(data); err != nil {
			return nil, "", eventsync.BadRequest("the data does not encode as JSON: " + err.Error())
		}
	}
	for _, k := range r.opts.Params {
		if v, ok := params[k]; ok {
			q.Params[k] = v
		}
	}
	write := method != eventsync.MethodFind && method != eventsync.MethodGet
	var last error
	for i, m := range r.instances(path, method) {
		if i > 0 {
			r.retries.Add(1)
		}
		actx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
		if d, ok := actx.Deadline(); ok {
			q.Deadline = d.UnixMilli()
		}
		body, err := json.Marshal(q)
		if err != nil {
			cancel()
			return nil, "", fmt.Errorf("remote: encode the request: %w", err)
		}
		raw, err := r.attempt(actx, m.Instance, body)
		cancel()
		var rep reply
		if err == nil {
			if json.Unmarshal(raw, &rep) != nil {
				r.malformed.Add(1)
				return nil, m.Instance, eventsync.GeneralError("malformed reply from " + m.Instance)
			}
			if rep.Error != nil && rep.Error.Code == 408 && ctx.Err() == nil {
				// The server gave up at this attempt's deadline, which
				// travelled with it: as if the attempt had timed out here.
				err = context.DeadlineExceeded
			}
		}
		switch {
		case err == nil && rep.Error != nil:
			return nil, m.Instance, rep.Error.err()
		case err == nil:
			return rep.Result, m.Instance, nil
		case ctx.Err() != nil:
			return nil, "", fmt.Errorf("remote: %s %s: %w", method, path, ctx.Err())
		case errors.Is(err, eventsync.ErrNoResponders):
			r.noResponders.Add(1)
			r.suspect(m.Instance)
			last = err
		case errors.Is(err, context.DeadlineExceeded) && write:
			return nil, m.Instance, eventsync.Timeout(fmt.Sprintf("%s on %s timed out after %v: it may have been applied", method, path, r.opts.Timeout),
				map[string]string{"instance": m.Instance, "rid": q.RID})
		default: // a read that timed out, or a transport failure: try another
			r.suspect(m.Instance)
			last = err
		}
	}
	msg := fmt.Sprintf("no live instance serves %s %s", method, path)
	if last != nil {
		r.log.Debug("remote: every instance failed", "path", path, "method", method, "err", last)
	}
	return nil, "", eventsync.Unavailable(msg)
}

// latencies keeps the durations of the last calls.
type latencies struct {
	mu   sync.Mutex
	ring [1024]time.Duration
	n    int
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.ring[l.n%len(l.ring)] = d
	l.n++
	l.mu.Unlock()
}

func (l *latencies) percentiles() (p50, p99 time.Duration) {
	l.mu.Lock()
	s := slices.Clone(l.ring[:min(l.n, len(l.ring))])
	l.mu.Unlock()
	if len(s) == 0 {
		return 0, 0
	}
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

// Health is an http.Handler for monitoring: the Stats as JSON, with 503
// while the last calls went unanswered (no live instance, or none
// answering in time).
func (r *Remote) Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		st := r.Stats()
		w.Header().Set("Content-Type", "application/json")
		if r.failing() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(st)
	})
}

// unreachable reports whether err says that no instance answered: an
// Unavailable or a Timeout, not a service's own answer (a NotFound, say).
func unreachable(err error) bool {
	var e *eventsync.Error
	return err != nil && (!errors.As(err, &e) || e.Code == http.StatusServiceUnavailable || e.Code == http.StatusRequestTimeout)
}

// failing reports whether the calls since the last one answered went
// unanswered: all of them before any was answered, three after one was.
func (r *Remote) failing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastOK == 0 && r.lastFailed > 0
}
