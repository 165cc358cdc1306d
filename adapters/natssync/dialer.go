package natssync

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/nats-io/nats.go"
)

// guardedDialer dials the NATS servers for nats.go. nats.Connect takes no
// context and waits up to its timeout per server for a silent one; while a
// connect runs under a caller's context (Subscribe's, Publish's), the
// dialer closes the sockets it made when that context ends, which fails the
// handshake at once. Reconnections later run unguarded.
type guardedDialer struct {
	mu   sync.Mutex
	ctx  context.Context // the running connect's; nil: none runs
	open []net.Conn      // dialed during the running connect
}

// Dial implements nats.CustomDialer.
func (d *guardedDialer) Dial(network, addr string) (net.Conn, error) {
	d.mu.Lock()
	ctx := d.ctx
	d.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := (&net.Dialer{Timeout: nats.DefaultTimeout}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.ctx != nil {
		d.open = append(d.open, c)
	}
	d.mu.Unlock()
	return c, nil
}

// connect runs connect with its dials and handshakes bounded by ctx.
func (d *guardedDialer) connect(ctx context.Context, connect func() (*nats.Conn, error)) (*nats.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	stop := context.AfterFunc(ctx, d.abort)
	nc, err := connect()
	stop()
	d.mu.Lock()
	d.ctx, d.open = nil, nil
	d.mu.Unlock()
	if err != nil && ctx.Err() != nil {
		return nil, errors.Join(err, ctx.Err())
	}
	return nc, err // a connection made as ctx ended is kept: nats.go reconnects it if need be
}

// abort closes the sockets of the running connect.
func (d *guardedDialer) abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.open {
		_ = c.Close()
	}
}
