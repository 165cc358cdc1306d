package redissync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync/internal/backoff"
)

// A subscription reads the adapter's channel on a connection of its own,
// speaking the few lines of RESP2 a subscriber needs, instead of go-redis's
// PubSub. Measured with go test -bench 'Raw' ./adapters/redissync, 4
// publishers and 2 subscribers: go-redis's Receive costs about 1.5 µs of CPU
// per message and subscriber (it arms a deadline per call, peeks for push
// notifications, builds an []interface{} and two strings), which made it the
// largest cost of the whole Redis path: every replica reads every message.
// This reader takes the payload out of its buffer with one allocation.
//
// It is used for a plain *redis.Client whose connections need nothing beyond
// a password and a name (see leanOptions); Sentinel, Cluster and clients with
// an OnConnect hook or streaming credentials keep go-redis's PubSub.
type subscription struct {
	opt     *redis.Options
	key     string
	deliver func([]byte)
	isEcho  func([]byte) bool // see Adapter.SetEchoFilter; nil: none
	a       *Adapter          // for the log, connected and reconnects
	idle    time.Duration     // idleTimeout when subscribed
	limit   int               // longest payload delivered; longer ones are skipped unread

	mu     sync.Mutex
	nc     net.Conn // the current connection; closed by stop to end a read
	closed bool
}

// idleTimeout is how long the subscription waits for bytes before it sends a
// PING; a second one without a byte means the connection is dead (a hung
// server is not seen by TCP keepalive, which its kernel answers). A variable,
// read when subscribing, so that the test of a hung server does not wait a
// minute.
var idleTimeout = 30 * time.Second

// maxBulk is the largest bulk string read; Redis's own limit
// (proto-max-bulk-len) defaults to 512 MB.
const maxBulk = 512 << 20

// leanOptions returns the options of client when the adapter's own
// connections (a subscription and a publisher) can serve it, nil when
// go-redis must.
func leanOptions(client redis.UniversalClient) *redis.Options {
	c, ok := client.(*redis.Client)
	if !ok {
		return nil
	}
	opt := c.Options()
	if opt.Dialer == nil || opt.OnConnect != nil || opt.StreamingCredentialsProvider != nil || opt.Addr == "FailoverClient" {
		return nil
	}
	return opt
}

// run reads until ctx ends, reconnecting with backoff after a lost
// connection.
func (s *subscription) run(ctx context.Context, r *bufio.Reader) {
	// A refused dial is cheap, and what others publish until the
	// subscription is back is missed: retry at least once a second.
	bo := backoff.Backoff{Max: time.Second}
	for {
		err := s.read(r)
		if ctx.Err() != nil {
			return
		}
		if s.a.connected.Swap(false) {
			s.a.log.Load().Warn("redissync: subscription lost, resubscribing", "key", s.key, "err", err)
		}
		for {
			if backoff.Sleep(ctx, bo.Next()) != nil {
				return
			}
			if r, err = s.dial(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.a.log.Load().Debug("redissync: resubscribe failed", "key", s.key, "err", err)
		}
		bo.Reset()
		s.a.reconnects.Add(1)
		s.a.connected.Store(true)
		s.a.log.Load().Info("redissync: resubscribed", "key", s.key)
	}
}

// stop ends the current read; run returns once its ctx is cancelled too.
func (s *subscription) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.nc != nil {
		s.nc.Close()
	}
}

// dial connects, authenticates, names the connection and subscribes.
func (s *subscription) dial(ctx context.Context) (*bufio.Reader, error) {
	nc, deadline, err := dialRedis(ctx, s.opt)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return nil, redis.ErrClosed
	}
	if s.nc != nil {
		s.nc.Close()
	}
	s.nc = nc
	s.mu.Unlock()
	// Until Redis confirms the SUBSCRIBE, the handshake's deadline holds
	// (no PING on a silent server) and so does ctx: Close cancels it.
	ic := &idleConn{Conn: nc, idle: s.idle, armed: deadline, handshake: true}
	r := bufio.NewReaderSize(ic, 64<<10)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	err = s.subscribe(ctx, nc, r)
	if !stop() || err != nil {
		nc.Close()
		return nil, errors.Join(err, ctx.Err())
	}
	_ = nc.SetWriteDeadline(time.Time{})
	ic.armed, ic.handshake = time.Time{}, false // the next read arms the idle deadline
	return r, nil
}

func (s *subscription) subscribe(ctx context.Context, nc net.Conn, r *bufio.Reader) error {
	if err := handshake(ctx, s.opt, nc, r, "SUBSCRIBE", s.key); err != nil {
		return err
	}
	kind, err := s.readPush(r)
	if err != nil {
		return err
	}
	if kind != "subscribe" {
		return fmt.Errorf("SUBSCRIBE: got %q", kind)
	}
	return nil
}

// read delivers messages until the connection fails.
func (s *subscription) read(r *bufio.Reader) error {
	for {
		if _, err := s.readPush(r); err != nil {
			return err
		}
	}
}

// readPush reads one array Redis pushes to a subscriber and returns its kind
// ("message", "subscribe", "pong"...). A message's payload goes to deliver.
func (s *subscription) readPush(r *bufio.Reader) (string, error) {
	line, err := readLine(r)
	if err != nil {
		return "", err
	}
	if len(line) == 0 || line[0] != '*' {
		return "", fmt.Errorf("unexpected reply %q", line)
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil || n < 1 {
		return "", fmt.Errorf("unexpected reply %q", line)
	}
	kindBytes, err := readBulk(r, false, 0, nil)
	if err != nil {
		return "", err
	}
	kind := internKind(kindBytes)
	for i := 1; i < n; i++ {
		// A message is [message, channel, payload]: only the payload is kept.
		keep := kind == "message" && i == 2
		var drop func([]byte) bool
		if keep {
			drop = s.isEcho
		}
		b, err := readBulk(r, keep, s.limit, drop)
		switch {
		case errors.Is(err, errOversized):
			s.a.skipped()
		case errors.Is(err, errDropped):
		case err != nil:
			return "", err
		case keep:
			s.deliver(b)
		}
	}
	return kind, nil
}

// internKind avoids a string allocation per message for the kinds that
// come often.
func internKind(b []byte) string {
	for _, k := range [...]string{"message", "subscribe", "pong"} {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

// idleConn is the subscription's connection as its reader sees it: a read
// that gets no byte for idleTimeout sends a PING (which a subscribed Redis
// answers) and waits once more; a second silent period is an error.
type idleConn struct {
	net.Conn
	idle      time.Duration
	armed     time.Time // when the read deadline was last set: at most once a second, it costs a timer update
	handshake bool      // the handshake's deadline holds: a timeout is an error, no PING
}

func (c *idleConn) Read(p []byte) (int, error) {
	pinged := false
	for {
		if now := time.Now(); now.Sub(c.armed) > min(time.Second, c.idle/4) {
			c.armed = now
			_ = c.Conn.SetReadDeadline(now.Add(c.idle))
		}
		n, err := c.Conn.Read(p)
		var ne net.Error
		if n > 0 || err == nil || !errors.As(err, &ne) || !ne.Timeout() || c.handshake {
			return n, err
		}
		if pinged {
			return 0, fmt.Errorf("no reply to PING in %v: %w", c.idle, err)
		}
		pinged = true
		c.armed = time.Time{}
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
		if _, err := c.Conn.Write(appendCommand(nil, "PING")); err != nil {
			return 0, err
		}
	}
}
