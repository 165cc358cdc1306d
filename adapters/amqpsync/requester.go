package amqpsync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventsync/eventsync"
)

var _ eventsync.Requester = (*Adapter)(nil)

// Request and reply: a served address is an exclusive queue named
// "<key>.req.<addr>" on the default exchange; requests go to it with
// mandatory set, so that RabbitMQ returns one that reaches no queue (the
// broker's "no responders"), and replies come back through RabbitMQ's
// direct reply-to, on the requesting channel. A served address does not
// survive a reconnection of the adapter's connection: its callers then get
// no responders, and serve again.

// requestQueue is the queue of requests to addr.
func (a *Adapter) requestQueue(addr string) string { return a.key + ".req." + addr }

// Serve implements eventsync.Requester.
func (a *Adapter) Serve(ctx context.Context, addr string, handle func(ctx context.Context, req []byte) []byte) (stop func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, fmt.Errorf("amqpsync: serve: %w", eventsync.ErrClosed)
	}
	var ch *amqp.Channel
	var deliveries <-chan amqp.Delivery
	err = a.guard(ctx, func() error {
		if err := a.connectUnguarded(ctx); err != nil {
			return err
		}
		var err error
		if ch, err = a.conn.Channel(); err != nil {
			return err
		}
		q := a.requestQueue(addr)
		if _, err = ch.QueueDeclare(q, false, true, true, false, nil); err == nil {
			deliveries, err = ch.Consume(q, "", true, true, false, false, nil)
		}
		return err
	})
	if err != nil {
		if ch != nil {
			ch.Close()
		}
		return nil, fmt.Errorf("amqpsync: serve %q: %w", addr, err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	var calls sync.WaitGroup
	read := make(chan struct{})
	go func() {
		defer close(read)
		for d := range deliveries {
			if d.ReplyTo == "" {
				a.malformed.Add(1)
				continue
			}
			calls.Go(func() {
				reply := handle(sctx, d.Body)
				_ = ch.PublishWithContext(sctx, "", d.ReplyTo, false, false, amqp.Publishing{
					CorrelationId: d.CorrelationId, ContentType: "application/octet-stream", Body: reply,
				})
			})
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = ch.Close() // deletes the exclusive queue and ends deliveries
			<-read
			cancel()
			calls.Wait()
		})
	}
	a.stops = append(a.stops, stop)
	return stop, nil
}

// requests is an adapter's channel for requests, consuming its direct
// reply-to pseudo-queue and the messages RabbitMQ returns.
type requests struct {
	ch   *amqp.Channel
	done chan struct{}

	mu      sync.Mutex
	next    uint64
	waiting map[string]chan result
}

type result struct {
	body []byte
	err  error
}

// requestChannel opens the adapter's request channel, once per connection.
// The caller holds a.mu.
func (a *Adapter) requestChannel(ctx context.Context) (*requests, error) {
	if a.reqs != nil && !a.reqs.ch.IsClosed() {
		return a.reqs, nil
	}
	r := &requests{done: make(chan struct{}), waiting: make(map[string]chan result)}
	var replies <-chan amqp.Delivery
	err := a.guard(ctx, func() error {
		if err := a.connectUnguarded(ctx); err != nil {
			return err
		}
		var err error
		if r.ch, err = a.conn.Channel(); err != nil {
			return err
		}
		replies, err = r.ch.Consume("amq.rabbitmq.reply-to", "", true, true, false, false, nil)
		return err
	})
	if err != nil {
		if r.ch != nil {
			r.ch.Close()
		}
		return nil, err
	}
	returns := r.ch.NotifyReturn(make(chan amqp.Return, 16))
	go func() {
		defer close(r.done)
		for replies != nil || returns != nil {
			select {
			case d, ok := <-replies:
				if !ok {
					replies = nil
					continue
				}
				r.answer(d.CorrelationId, result{body: d.Body})
			case ret, ok := <-returns:
				if !ok {
					returns = nil
					continue
				}
				r.answer(ret.CorrelationId, result{err: eventsync.ErrNoResponders})
			}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for id, w := range r.waiting { // the channel closed under them
			w <- result{err: errors.New("the request channel closed")}
			delete(r.waiting, id)
		}
	}()
	a.reqs = r
	return r, nil
}

func (r *requests) answer(id string, res result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w := r.waiting[id]; w != nil {
		w <- res
		delete(r.waiting, id)
	}
}

// Request implements eventsync.Requester.
func (a *Adapter) Request(ctx context.Context, addr string, req []byte) ([]byte, error) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, fmt.Errorf("amqpsync: request: %w", eventsync.ErrClosed)
	}
	r, err := a.requestChannel(ctx)
	a.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("amqpsync: request to %q: %w", addr, err)
	}
	wait := make(chan result, 1)
	r.mu.Lock()
	r.next++
	id := strconv.FormatUint(r.next, 36)
	r.waiting[id] = wait
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiting, id)
		r.mu.Unlock()
	}()
	err = r.ch.PublishWithContext(ctx, "", a.requestQueue(addr), true, false, amqp.Publishing{
		CorrelationId: id, ReplyTo: "amq.rabbitmq.reply-to", ContentType: "application/octet-stream", Body: req,
	})
	if err != nil {
		return nil, fmt.Errorf("amqpsync: request to %q: %w", addr, err)
	}
	select {
	case res := <-wait:
		if res.err != nil {
			return nil, fmt.Errorf("amqpsync: request to %q: %w", addr, res.err)
		}
		return res.body, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("amqpsync: request to %q: %w", addr, ctx.Err())
	}
}
