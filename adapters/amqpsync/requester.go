package amqpsync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/backoff"
)

var _ eventsync.Requester = (*Adapter)(nil)

// Request and reply: a served address is an exclusive queue named
// "<key>.req.<addr>" on the default exchange; requests go to it with
// mandatory set, so that RabbitMQ returns one that reaches no queue (the
// broker's "no responders"), and replies come back through RabbitMQ's
// direct reply-to, on the requesting channel. A served address is served
// again once a broken connection is back; meanwhile its callers get no
// responders.

// requestQueue is the queue of requests to addr.
func (a *Adapter) requestQueue(addr string) string { return a.key + ".req." + addr }

// Serve implements eventsync.Requester. When the connection breaks, the
// address is served again on the next connection (callers meanwhile get
// no responders and go to other instances).
func (a *Adapter) Serve(ctx context.Context, addr string, handle func(ctx context.Context, req []byte) []byte) (stop func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, fmt.Errorf("amqpsync: serve: %w", eventsync.ErrClosed)
	}
	srv := &served{a: a, queue: a.requestQueue(addr), handle: handle, read: make(chan struct{})}
	deliveries, err := srv.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("amqpsync: serve %q: %w", addr, err)
	}
	srv.ctx, srv.cancel = context.WithCancel(context.Background())
	go srv.run(deliveries)
	var once sync.Once
	stop = func() { once.Do(srv.stop) }
	a.stops = append(a.stops, stop)
	return stop, nil
}

// served is one address served on the adapter's connection.
type served struct {
	a      *Adapter
	queue  string
	handle func(ctx context.Context, req []byte) []byte
	ctx    context.Context // ends with stop
	cancel context.CancelFunc
	read   chan struct{} // closed when run returns
	calls  sync.WaitGroup

	mu sync.Mutex
	ch *amqp.Channel // the current channel
}

// open declares the address's queue and consumes it, on a new channel of
// the adapter's connection, dialing it again if it broke. The caller holds
// a.mu.
func (s *served) open(ctx context.Context) (<-chan amqp.Delivery, error) {
	var ch *amqp.Channel
	var deliveries <-chan amqp.Delivery
	err := s.a.guard(ctx, func() error {
		if err := s.a.connectUnguarded(ctx); err != nil {
			return err
		}
		var err error
		if ch, err = s.a.conn.Channel(); err != nil {
			return err
		}
		if _, err = ch.QueueDeclare(s.queue, false, true, true, false, nil); err == nil {
			deliveries, err = ch.Consume(s.queue, "", true, true, false, false, nil)
		}
		return err
	})
	if err != nil {
		if ch != nil {
			ch.Close()
		}
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx != nil && s.ctx.Err() != nil { // stopped meanwhile: stop closed the previous channel
		ch.Close()
		return nil, s.ctx.Err()
	}
	s.ch = ch
	return deliveries, nil
}

// run answers the deliveries and, when the channel closes under it (not by
// stop), serves the address again on a new one.
func (s *served) run(deliveries <-chan amqp.Delivery) {
	defer close(s.read)
	bo := backoff.Backoff{Max: time.Second}
	for {
		s.mu.Lock()
		ch := s.ch
		s.mu.Unlock()
		for d := range deliveries {
			if d.ReplyTo == "" {
				s.a.malformed.Add(1)
				continue
			}
			s.calls.Go(func() {
				reply := s.handle(s.ctx, d.Body)
				_ = ch.PublishWithContext(s.ctx, "", d.ReplyTo, false, false, amqp.Publishing{
					CorrelationId: d.CorrelationId, ContentType: "application/octet-stream", Body: reply,
				})
			})
		}
		for {
			if backoff.Sleep(s.ctx, bo.Next()) != nil {
				return // stopped
			}
			s.a.mu.Lock()
			var err error
			if s.a.closed {
				err = eventsync.ErrClosed
			} else {
				ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
				deliveries, err = s.open(ctx)
				cancel()
			}
			s.a.mu.Unlock()
			if errors.Is(err, eventsync.ErrClosed) || s.ctx.Err() != nil {
				return
			}
			if err == nil {
				bo.Reset()
				break
			}
		}
	}
}

// stop ends serving: no reopening, the channel closed (which deletes the
// exclusive queue), the calls running finished.
func (s *served) stop() {
	s.cancel()
	s.mu.Lock()
	_ = s.ch.Close()
	s.mu.Unlock()
	<-s.read
	s.calls.Wait()
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
