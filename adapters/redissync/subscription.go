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
	a       *Adapter      // for the log, connected and reconnects
	idle    time.Duration // idleTimeout when subscribed

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

// leanOptions returns the options of client when a subscription can serve
// it, nil when go-redis's PubSub must.
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

// start dials and subscribes; it returns once Redis confirmed the SUBSCRIBE.
func (s *subscription) start(ctx context.Context) (*bufio.Reader, error) {
	r, err := s.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("redissync: subscribe %q: %w", s.key, err)
	}
	return r, nil
}

// run reads until ctx ends, reconnecting with backoff after a lost
// connection.
func (s *subscription) run(ctx context.Context, r *bufio.Reader) {
	var bo backoff.Backoff
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

// dial connects with the client's dialer (so TLS and timeouts are the
// client's), authenticates, names the connection and subscribes.
func (s *subscription) dial(ctx context.Context) (*bufio.Reader, error) {
	nc, err := s.opt.Dialer(ctx, s.opt.Network, s.opt.Addr)
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
	deadline := time.Now().Add(max(s.opt.DialTimeout, 5*time.Second))
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = nc.SetDeadline(deadline)
	ic := &idleConn{Conn: nc, idle: s.idle, armed: deadline} // armed in the future: the handshake's deadline holds
	r := bufio.NewReaderSize(ic, 64<<10)
	if err := s.handshake(ctx, nc, r); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetWriteDeadline(time.Time{})
	ic.armed = time.Time{} // the next read arms the idle deadline
	return r, nil
}

func (s *subscription) handshake(ctx context.Context, nc net.Conn, r *bufio.Reader) error {
	user, pass, err := credentials(ctx, s.opt)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	var cmds [][]string
	switch {
	case pass != "" && user != "":
		cmds = append(cmds, []string{"AUTH", user, pass})
	case pass != "":
		cmds = append(cmds, []string{"AUTH", pass})
	}
	if s.opt.ClientName != "" {
		cmds = append(cmds, []string{"CLIENT", "SETNAME", s.opt.ClientName})
	}
	var buf []byte
	for _, c := range cmds {
		buf = appendCommand(buf, c...)
	}
	buf = appendCommand(buf, "SUBSCRIBE", s.key)
	if _, err := nc.Write(buf); err != nil {
		return err
	}
	for _, c := range cmds {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if len(line) == 0 || line[0] != '+' { // the error, never the command: it may hold the password
			return fmt.Errorf("%s: %s", c[0], line)
		}
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

// credentials resolves the password as go-redis does for a new connection.
func credentials(ctx context.Context, opt *redis.Options) (user, pass string, err error) {
	switch {
	case opt.CredentialsProviderContext != nil:
		return opt.CredentialsProviderContext(ctx)
	case opt.CredentialsProvider != nil:
		user, pass = opt.CredentialsProvider()
		return user, pass, nil
	}
	return opt.Username, opt.Password, nil
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
	kindBytes, err := readBulk(r, false)
	if err != nil {
		return "", err
	}
	kind := internKind(kindBytes)
	for i := 1; i < n; i++ {
		// A message is [message, channel, payload]: only the payload is kept.
		keep := kind == "message" && i == 2
		b, err := readBulk(r, keep)
		if err != nil {
			return "", err
		}
		if keep {
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

// readLine returns a line without its CRLF; it is valid until the next read.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("malformed line %q", line)
	}
	return line[:len(line)-2], nil
}

// readBulk reads a bulk string (or an integer, as in a subscribe
// confirmation). With keep it returns a copy the caller owns, else the bytes
// in the reader's buffer (valid until its next read) when they fit there, or
// nil.
func readBulk(r *bufio.Reader, keep bool) ([]byte, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) > 0 && line[0] == ':' {
		return line[1:], nil
	}
	if len(line) == 0 || line[0] != '$' {
		return nil, fmt.Errorf("unexpected element %q", line)
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil || n < -1 || n > maxBulk {
		return nil, fmt.Errorf("bad bulk length %q", line)
	}
	if n == -1 {
		return nil, nil
	}
	var b []byte
	switch {
	case keep:
		b = make([]byte, n)
		if _, err := readFull(r, b); err != nil {
			return nil, err
		}
	case n+2 <= r.Size():
		// Peek the CRLF too: a later Peek could slide the buffer under b.
		if b, err = r.Peek(n + 2); err != nil {
			return nil, err
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return nil, errors.New("bulk string without CRLF")
		}
		_, _ = r.Discard(n + 2)
		return b[:n], nil
	default:
		if _, err := r.Discard(n); err != nil {
			return nil, err
		}
	}
	cr, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	lf, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if cr != '\r' || lf != '\n' {
		return nil, errors.New("bulk string without CRLF")
	}
	return b, nil
}

func readFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// appendCommand appends a command as a RESP array of bulk strings.
func appendCommand(buf []byte, args ...string) []byte {
	buf = append(buf, '*')
	buf = strconv.AppendInt(buf, int64(len(args)), 10)
	buf = append(buf, "\r\n"...)
	for _, a := range args {
		buf = append(buf, '$')
		buf = strconv.AppendInt(buf, int64(len(a)), 10)
		buf = append(buf, "\r\n"...)
		buf = append(buf, a...)
		buf = append(buf, "\r\n"...)
	}
	return buf
}

// idleConn is the subscription's connection as its reader sees it: a read
// that gets no byte for idleTimeout sends a PING (which a subscribed Redis
// answers) and waits once more; a second silent period is an error.
type idleConn struct {
	net.Conn
	idle  time.Duration
	armed time.Time // when the read deadline was last set: at most once a second, it costs a timer update
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
		if n > 0 || err == nil || !errors.As(err, &ne) || !ne.Timeout() {
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
