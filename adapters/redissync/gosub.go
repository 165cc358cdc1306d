package redissync

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync/internal/backoff"
)

// goRedisSub is a subscription through go-redis (Sentinel, Cluster, sharded
// pub/sub, clients with hooks). After an error it subscribes again from
// scratch, on a new PubSub, instead of letting the PubSub reconnect
// itself: on a cluster that reconnect keeps dialling the node the client
// knew when it subscribed, a dead master included, and a sharded one lands
// on a random node that answers MOVED unread (go-redis #3806), so that the
// subscription looks healthy and receives nothing. A new PubSub asks the
// reloaded cluster state for the slot's master.
type goRedisSub struct {
	a       *Adapter
	deliver func([]byte)

	mu      sync.Mutex
	ps      *redis.PubSub // the current one
	stopped bool
}

// open subscribes on a new PubSub and waits for Redis's confirmation.
func (s *goRedisSub) open(ctx context.Context) error {
	a := s.a
	subscribe := a.client.Subscribe
	if a.sharded {
		subscribe = a.client.SSubscribe
	}
	ps := subscribe(ctx, a.key)
	if _, err := ps.ReceiveTimeout(ctx, 0); err != nil {
		_ = ps.Close()
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		_ = ps.Close()
		return redis.ErrClosed
	}
	s.ps = ps
	return nil
}

// stop closes the current PubSub, which ends run's Receive.
func (s *goRedisSub) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.ps != nil {
		_ = s.ps.Close()
	}
}

func (s *goRedisSub) current() *redis.PubSub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ps
}

// run delivers messages until ctx ends or stop is called, subscribing again
// (with backoff) whenever the subscription fails.
func (s *goRedisSub) run(ctx context.Context) {
	a := s.a
	// A refused dial is cheap, and a cluster's new master answers within
	// seconds of a failover: retry at least once a second.
	bo := backoff.Backoff{Max: time.Second}
	ps := s.current()
	for {
		msg, err := ps.Receive(ctx)
		if err == nil {
			if m, ok := msg.(*redis.Message); ok {
				s.deliver(payloadBytes(m.Payload))
			}
			continue
		}
		if ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
			return
		}
		if a.connected.Swap(false) {
			a.log.Load().Warn("redissync: subscription lost, resubscribing", "key", a.key, "err", err)
		}
		_ = ps.Close()
		for {
			if backoff.Sleep(ctx, bo.Next()) != nil {
				return
			}
			if cluster, ok := a.client.(*redis.ClusterClient); ok {
				cluster.ReloadState(ctx) // asynchronous: a later attempt sees the new masters
			}
			err = s.open(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
				return
			}
		}
		ps = s.current()
		a.connected.Store(true)
		a.reconnects.Add(1)
		bo.Reset()
		a.log.Load().Info("redissync: resubscribed", "key", a.key)
	}
}
