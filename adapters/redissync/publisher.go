package redissync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync"
)

// A publisher writes PUBLISH commands on a connection of the adapter's own
// and reads their replies apart, which makes the adapter an
// eventsync.Pipeliner: the Sync writes the next batch while Redis answers the
// last ones. go-redis's pipeline writes a batch and then waits for all of its
// replies before the next one can go out, and builds a command object per
// message (its Exec was a fifth of the CPU of the Redis benchmark once the
// subscriber was lean). It serves the same clients as subscription.
type publisher struct {
	opt *redis.Options
	key string

	mu     sync.Mutex // guards the fields below and orders writes
	conn   *pubConn   // nil: not dialled yet, or lost
	lost   bool       // what was sent may be lost: Send and Confirm fail until a Publish succeeds
	closed bool
	buf    []byte // the commands of one write

	readMu sync.Mutex // one reader of replies at a time

	current atomic.Pointer[pubConn] // p.conn, for forceClose, which must not wait for p.mu
}

// pubConn is one connection and how far its replies are read.
type pubConn struct {
	nc   net.Conn
	r    *bufio.Reader
	sent atomic.Uint64 // PUBLISH commands written (under publisher.mu)
	read uint64        // replies read (under publisher.readMu)
}

var errLost = errors.New("the connection was lost since the last confirmation: what was sent may be lost")

// send writes msgs after everything sent before and returns the connection
// and the count its replies must reach. With redial it replaces a lost
// connection (Publish); without, a lost one is an error (Send).
func (p *publisher) send(ctx context.Context, msgs [][]byte, redial bool) (*pubConn, uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, 0, eventsync.ErrClosed
	}
	if p.lost && !redial {
		return nil, 0, errLost
	}
	if p.conn == nil {
		c, err := p.dial(ctx)
		if err != nil {
			return nil, 0, err
		}
		p.conn = c
		p.current.Store(c)
	}
	c := p.conn
	p.buf = p.buf[:0]
	for _, m := range msgs {
		p.buf = appendPublish(p.buf, p.key, m)
	}
	if p.opt.WriteTimeout > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(p.opt.WriteTimeout))
	}
	// A hung server with a full socket blocks the write, with p.mu held:
	// ctx ends it (the Sync cancels it when Close gives up), as does
	// forceClose.
	stop := deadlineOnDone(ctx, c.nc.SetWriteDeadline)
	_, err := c.nc.Write(p.buf)
	if stop() && err == nil {
		_ = c.nc.SetWriteDeadline(time.Time{}) // ctx ended just after the write
	}
	if cap(p.buf) > 4<<20 {
		p.buf = nil // do not keep what one batch of large messages needed
	}
	if err != nil {
		p.loseLocked(c)
		return nil, 0, err
	}
	return c, c.sent.Add(uint64(len(msgs))), nil
}

// confirm reads c's replies until target of them are in.
func (p *publisher) confirm(ctx context.Context, c *pubConn, target uint64) error {
	p.readMu.Lock()
	defer p.readMu.Unlock()
	if c.read >= target {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var deadline time.Time
	if p.opt.ReadTimeout > 0 {
		deadline = time.Now().Add(p.opt.ReadTimeout)
	}
	_ = c.nc.SetReadDeadline(deadline)
	defer deadlineOnDone(ctx, c.nc.SetReadDeadline)()
	for c.read < target {
		line, err := readLine(c.r)
		if err == nil && (len(line) == 0 || line[0] != ':') {
			err = fmt.Errorf("PUBLISH: %s", line) // an error reply: that message was not published
		}
		if err != nil {
			p.lose(c)
			return errors.Join(err, ctx.Err())
		}
		c.read++
	}
	return nil
}

// deadlineOnDone sets a deadline in the past with set when ctx ends, which
// fails the read or write it bounds. The returned stop reports whether it
// did so, and returns only once it is done: a deadline set late would fail
// the connection's next read or write.
func deadlineOnDone(ctx context.Context, set func(time.Time) error) (stop func() (fired bool)) {
	done := make(chan struct{})
	stopFunc := context.AfterFunc(ctx, func() {
		_ = set(time.Unix(1, 0))
		close(done)
	})
	return func() bool {
		if stopFunc() {
			return false
		}
		<-done
		return true
	}
}

// lose drops c: from now on Send and Confirm fail until a Publish succeeds.
func (p *publisher) lose(c *pubConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loseLocked(c)
}

// loseLocked is lose for a caller that holds p.mu.
func (p *publisher) loseLocked(c *pubConn) {
	if p.conn == c {
		p.conn, p.lost = nil, true
	}
	c.nc.Close()
}

// publish sends and confirms msgs, on a new connection if the last was lost.
func (p *publisher) publish(ctx context.Context, msgs [][]byte) error {
	c, target, err := p.send(ctx, msgs, true)
	if err != nil {
		return err
	}
	if err := p.confirm(ctx, c, target); err != nil {
		return err
	}
	p.mu.Lock()
	if p.conn == c {
		p.lost = false
	}
	p.mu.Unlock()
	return nil
}

// confirmSent confirms everything sent so far on the current connection.
func (p *publisher) confirmSent(ctx context.Context) error {
	p.mu.Lock()
	c, lost, closed := p.conn, p.lost, p.closed
	p.mu.Unlock()
	switch {
	case closed:
		return eventsync.ErrClosed
	case lost:
		return errLost
	case c == nil:
		return nil // nothing sent
	}
	return p.confirm(ctx, c, c.sent.Load())
}

// close confirms what was sent, as far as ctx lets it, and closes the
// connection. When ctx ends first, the connection is closed under a write
// that a hung server holds up, so that close returns.
func (p *publisher) close(ctx context.Context) error {
	force := context.AfterFunc(ctx, func() {
		if c := p.current.Load(); c != nil {
			c.nc.Close()
		}
	})
	defer force()
	err := p.confirmSent(ctx)
	if errors.Is(err, eventsync.ErrClosed) {
		return nil
	}
	p.mu.Lock()
	c := p.conn
	p.conn, p.closed = nil, true
	p.mu.Unlock()
	if c != nil {
		c.nc.Close()
	}
	return err
}

func (p *publisher) dial(ctx context.Context) (*pubConn, error) {
	nc, _, err := dialRedis(ctx, p.opt)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(nc, 32<<10)
	if err := handshake(ctx, p.opt, nc, r); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return &pubConn{nc: nc, r: r}, nil
}

// appendPublish appends PUBLISH key msg as a RESP array.
func appendPublish(buf []byte, key string, msg []byte) []byte {
	buf = append(buf, "*3\r\n$7\r\nPUBLISH\r\n$"...)
	buf = strconv.AppendInt(buf, int64(len(key)), 10)
	buf = append(buf, "\r\n"...)
	buf = append(buf, key...)
	buf = append(buf, "\r\n$"...)
	buf = strconv.AppendInt(buf, int64(len(msg)), 10)
	buf = append(buf, "\r\n"...)
	buf = append(buf, msg...)
	return append(buf, "\r\n"...)
}
