package redissync

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/backoff"
)

var _ eventsync.Requester = (*Adapter)(nil)

// Request and reply over pub/sub: a served address is the channel
// "<key>.req.<addr>", and each adapter that sends requests listens for
// replies on a channel of its own, "<key>.rep.<random>". A request is the
// reply channel's length (an unsigned varint), the reply channel, an 8-byte
// request number, then the body; a reply is the request number, then the
// body. PUBLISH returns how many subscribers got the message: none is the
// broker's "no responders".

// requestChannel is the channel of requests to addr.
func (a *Adapter) requestChannel(addr string) string { return a.key + ".req." + addr }

// Serve implements eventsync.Requester.
func (a *Adapter) Serve(ctx context.Context, addr string, handle func(ctx context.Context, req []byte) []byte) (stop func(), err error) {
	if err := a.usable(); err != nil {
		return nil, err
	}
	ps := a.client.Subscribe(ctx, a.requestChannel(addr))
	if _, err := ps.ReceiveTimeout(ctx, 0); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("redissync: serve %q: %w", addr, err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	var calls sync.WaitGroup
	read := make(chan struct{})
	go func() {
		defer close(read)
		bo := backoff.Backoff{Max: time.Second}
		for {
			msg, err := ps.Receive(sctx)
			if err != nil {
				if sctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
					return
				}
				_ = backoff.Sleep(sctx, bo.Next()) // go-redis reconnects the subscription
				continue
			}
			bo.Reset()
			m, ok := msg.(*redis.Message)
			if !ok {
				continue
			}
			replyTo, id, body, ok := parseRequest([]byte(m.Payload))
			if !ok {
				a.malformed.Add(1)
				continue
			}
			calls.Go(func() {
				reply := append(binary.BigEndian.AppendUint64(nil, id), handle(sctx, body)...)
				_ = a.client.Publish(sctx, replyTo, reply).Err()
			})
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = ps.Close()
			cancel()
			<-read
			calls.Wait()
		})
	}
	a.mu.Lock()
	a.stops = append(a.stops, stop)
	a.mu.Unlock()
	return stop, nil
}

// parseRequest splits a request into its reply channel, number and body.
func parseRequest(b []byte) (replyTo string, id uint64, body []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n+8 {
		return "", 0, nil, false
	}
	b = b[k:]
	return string(b[:n]), binary.BigEndian.Uint64(b[n : n+8]), b[n+8:], true
}

// replies is an adapter's subscription to the replies of its requests.
type replies struct {
	channel string
	ps      *redis.PubSub
	done    chan struct{}

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan []byte
}

// replyChannel subscribes to the adapter's reply channel, once.
func (a *Adapter) replyChannel(ctx context.Context) (*replies, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, eventsync.ErrClosed
	}
	if a.replies != nil {
		return a.replies, nil
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	r := &replies{channel: a.key + ".rep." + hex.EncodeToString(b[:]), done: make(chan struct{}), waiting: make(map[uint64]chan []byte)}
	r.ps = a.client.Subscribe(ctx, r.channel)
	if _, err := r.ps.ReceiveTimeout(ctx, 0); err != nil {
		_ = r.ps.Close()
		return nil, err
	}
	go func() {
		defer close(r.done)
		bo := backoff.Backoff{Max: time.Second}
		for {
			msg, err := r.ps.Receive(context.Background())
			if errors.Is(err, redis.ErrClosed) {
				return
			}
			if err != nil {
				time.Sleep(bo.Next()) // go-redis reconnects the subscription; close ends it
				continue
			}
			bo.Reset()
			m, ok := msg.(*redis.Message)
			if !ok || len(m.Payload) < 8 {
				continue
			}
			id := binary.BigEndian.Uint64([]byte(m.Payload[:8]))
			r.mu.Lock()
			if w := r.waiting[id]; w != nil {
				w <- []byte(m.Payload[8:])
				delete(r.waiting, id)
			}
			r.mu.Unlock()
		}
	}()
	a.replies = r
	return r, nil
}

func (r *replies) close() {
	_ = r.ps.Close()
	<-r.done
}

// Request implements eventsync.Requester.
func (a *Adapter) Request(ctx context.Context, addr string, req []byte) ([]byte, error) {
	r, err := a.replyChannel(ctx)
	if err != nil {
		return nil, fmt.Errorf("redissync: request to %q: %w", addr, err)
	}
	wait := make(chan []byte, 1)
	r.mu.Lock()
	r.next++
	id := r.next
	r.waiting[id] = wait
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiting, id)
		r.mu.Unlock()
	}()
	msg := binary.AppendUvarint(nil, uint64(len(r.channel)))
	msg = append(msg, r.channel...)
	msg = binary.BigEndian.AppendUint64(msg, id)
	msg = append(msg, req...)
	n, err := a.client.Publish(ctx, a.requestChannel(addr), msg).Result()
	switch {
	case err != nil:
		return nil, fmt.Errorf("redissync: request to %q: %w", addr, err)
	case n == 0:
		return nil, fmt.Errorf("redissync: request to %q: %w", addr, eventsync.ErrNoResponders)
	}
	select {
	case reply := <-wait:
		return reply, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("redissync: request to %q: %w", addr, ctx.Err())
	}
}
