package eventsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Adapter carries encoded messages between replicas over one broker key. The
// Sync owns retrying, batching, ordering of intake and statistics; an adapter
// only moves bytes, reconnects and resubscribes.
type Adapter interface {
	// Subscribe delivers every message published under the adapter's key, by any
	// replica including this one, in publish order per publisher. It returns once
	// the subscription is live; deliver is called from one goroutine, and not
	// after Close returns. deliver owns msg: the adapter must not modify or
	// reuse it afterwards, nor hand the same slice to another subscriber
	// (the Sync may keep it: a decoded record's long strings point into it).
	Subscribe(ctx context.Context, deliver func(msg []byte)) error
	// Publish sends one batch, in order, and returns an error if any of it was
	// not sent (the Sync then retries the whole batch). It must not modify msgs.
	// After Close it returns an error wrapping ErrClosed.
	Publish(ctx context.Context, msgs ...[]byte) error
	// Close flushes what was published, waits for the broker's acknowledgement
	// where it has one, and releases what the adapter opened.
	Close(ctx context.Context) error
}

// AdapterState is what an adapter knows about its connection.
type AdapterState struct {
	Connected  bool   // the subscription is live now
	Reconnects uint64 // how often the connection was re-established
	Malformed  uint64 // messages the adapter refused itself (a wrong content type, say)
	Oversized  uint64 // messages over the SizeLimiter limit, skipped unread
	// ResumeGaps counts resumptions that could not start right after the last
	// message delivered (it was overwritten), so messages may have been missed.
	ResumeGaps uint64
	// Recovered counts messages kept by the broker while the connection was
	// broken (Recovery) and delivered after it came back.
	Recovered uint64
}

// StateReporter is implemented by adapters that track their connection; the
// Sync copies it into Stats and Health.
type StateReporter interface {
	State() AdapterState
}

// SizeLimiter is implemented by adapters that can skip a received message
// over the limit without reading it into memory (Redis: the length comes
// before the payload), so that a huge message costs no huge allocation. The
// Sync calls SetMaxMessageBytes with Options.MaxMessageBytes once, before
// Subscribe; the adapter counts what it skips in AdapterState.Oversized.
type SizeLimiter interface {
	SetMaxMessageBytes(n int)
}

// EchoSkipper is implemented by adapters that can ask the broker not to
// send a replica's own messages back to it (NATS: no_echo). A Sync without
// Options.RoundTrip drops its own echoes anyway, so it calls SkipEcho once,
// right after opening the adapter and before Subscribe and Publish: the
// broker, the network and the replica are spared the work. An adapter may
// ignore it (on a connection it did not open, say); the Sync still drops
// whatever echo arrives.
type EchoSkipper interface {
	SkipEcho()
}

// EchoFilterer is implemented by adapters whose broker sends a replica its
// own messages and that can look at a message before copying it out of a
// read buffer of their own (Redis's adapter does; amqp091-go has copied a
// delivery before the adapter sees it). A Sync without Options.RoundTrip calls
// SetEchoFilter once, before Subscribe, with isEcho, which reports (and
// counts) whether msg is this replica's own; the adapter drops what it
// reports true for instead of delivering it: the copy and the hand-off of
// half of what a publishing replica receives are saved. isEcho does not
// keep msg and is safe for concurrent use.
type EchoFilterer interface {
	SetEchoFilter(isEcho func(msg []byte) bool)
}

// Pipeliner is implemented by adapters whose Publish is a write followed by
// a wait for the broker's acknowledgement that the two halves can be called
// apart (NATS: publish, then a flush round trip). The Sync then writes the
// next batch while the broker acknowledges the previous ones, instead of
// leaving the connection idle for a round trip per batch.
//
// Order across a lost connection is the adapter's part: once anything sent
// may have been lost, Send and Confirm must fail until a Publish succeeds.
// The Sync then publishes again, one batch at a time with Publish, every
// batch not confirmed, so that nothing newer gets through before them.
type Pipeliner interface {
	// Send writes msgs, in order, after everything sent before, without
	// waiting for the broker. An error means some of msgs may not be sent.
	Send(ctx context.Context, msgs ...[]byte) error
	// Confirm returns nil once the broker has everything sent before the
	// call, and an error when some of it may be lost.
	Confirm(ctx context.Context) error
}

// LoggerSetter is implemented by adapters that log; Configure passes them
// Options.Logger before Subscribe.
type LoggerSetter interface {
	SetLogger(*slog.Logger)
}

// Opener creates an adapter for a parsed URI and a key. It should not block
// on the network: adapters dial in Subscribe (or lazily), so that Configure
// returns at once and a failing broker shows up in Sync.Err.
type Opener func(ctx context.Context, u *url.URL, key string) (Adapter, error)

var registry = struct {
	sync.RWMutex
	openers map[string]Opener
}{openers: make(map[string]Opener)}

// Register makes an adapter available under a URI scheme. Adapters call it
// from init, so that importing them is enough. Schemes are case-insensitive;
// registering one twice panics.
func Register(scheme string, open Opener) {
	scheme = strings.ToLower(scheme)
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.openers[scheme]; dup {
		panic(fmt.Sprintf("eventsync: adapter scheme %q registered twice", scheme))
	}
	registry.openers[scheme] = open
}

// Schemes returns the registered URI schemes, sorted.
func Schemes() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.openers))
	for s := range registry.openers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open creates an adapter from a URI with the opener registered for its
// scheme. Errors never contain the URI's password.
func Open(ctx context.Context, uri, key string) (Adapter, error) {
	u, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	return openURL(ctx, u, key)
}

func openURL(ctx context.Context, u *url.URL, key string) (Adapter, error) {
	scheme := strings.ToLower(u.Scheme)
	registry.RLock()
	open := registry.openers[scheme]
	registry.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("%w %q in %s (registered: %s; import the adapter package, or github.com/eventsync/eventsync/adapters/all)",
			ErrUnknownScheme, scheme, u.Redacted(), strings.Join(Schemes(), ", "))
	}
	a, err := open(ctx, u, key)
	if err != nil {
		return nil, fmt.Errorf("eventsync: open %s: %w", u.Redacted(), err)
	}
	return a, nil
}

// parseURI parses uri without ever echoing it: url.Parse's errors quote the
// whole input, password included.
func parseURI(uri string) (*url.URL, error) {
	u, err := url.Parse(uri)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("eventsync: invalid URI: %w", err)
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("eventsync: invalid URI %s: no scheme", u.Redacted())
	}
	return u, nil
}

// RedactURI returns uri with any password replaced by "xxxxx", for logs.
func RedactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "<invalid URI>"
	}
	return u.Redacted()
}

// CheckQuery returns an error naming the first query parameter of u that is
// not in known. Openers call it so that a typo in a URI is an error, not a
// silently ignored setting.
func CheckQuery(u *url.URL, known ...string) error {
	for k := range u.Query() {
		found := false
		for _, kn := range known {
			if k == kn {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("unknown URI parameter %q (known: %s)", k, strings.Join(known, ", "))
		}
	}
	return nil
}
