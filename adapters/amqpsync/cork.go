package amqpsync

import (
	"net"
	"sync"
)

// corkLimit bounds what a corked connection holds before it writes anyway.
const corkLimit = 256 << 10

// corkedConn lets Publish send a whole batch in one write. amqp091-go
// flushes its buffered writer after every message, so a batch of 512 events
// costs 512 write system calls and as many reads in RabbitMQ; on a 2-core
// machine shared with the broker that CPU is what the throughput is made of.
// While corked, writes (from any goroutine: heartbeats and acks too) are
// appended to a buffer that uncork writes in one call. amqp091-go takes
// such a write as done, so a failed uncork closes the connection: its
// reader then fails and the adapter reconnects, as after any broken socket.
type corkedConn struct {
	net.Conn

	mu     sync.Mutex
	corked bool
	buf    []byte
}

func (c *corkedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked && len(c.buf)+len(p) <= corkLimit {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

func (c *corkedConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what the cork held and lets writes through again.
func (c *corkedConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

func (c *corkedConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		_ = c.Conn.Close()
	}
	return err
}
