package eventsync

import (
	"time"

	"github.com/eventsync/eventsync/internal/backoff"
)

// confirmAfter and confirmDelay bound how long pipelineLoop lets sent
// batches wait for a confirmation while nothing else is pending.
const (
	confirmAfter = MaxPipelined / 2
	confirmDelay = time.Millisecond
)

// pipelineLoop is publishLoop for a Pipeliner: it sends the next batch while
// a Confirm, on a goroutine of its own, waits for the broker to acknowledge
// the batches sent before it (at full speed on NATS the flush round trip
// left the connection idle a fifth of the time). Events count as published
// once confirmed. When a Send or Confirm fails, nothing new is sent until
// every unconfirmed batch has been published again, in order; the receivers
// drop what arrives twice (seq).
//
// While the publisher keeps up, a confirmation waits until confirmAfter
// batches are unconfirmed or confirmDelay has passed: a confirmation per
// lone event (on NATS a PING, a PONG to read and three goroutine wake-ups)
// cost 6% more CPU and a tenth more median latency at a steady 10,000
// events/s, and the events reach the subscribers without waiting for it.
// Close confirms at once.
func (s *Sync) pipelineLoop(p Pipeliner) {
	defer close(s.pubDone)
	maxBytes := s.maxBatchBytes()
	var (
		sent      [][][]byte // sent, not yet confirmed, oldest first
		free      [][][]byte // emptied batches, for reuse
		covered   int        // batches at the front of sent the running Confirm covers; 0: none runs
		confirmed = make(chan error, 1)
		failed    bool // publish all of sent again before anything new
		bo        backoff.Backoff
		due       = time.NewTimer(confirmDelay) // armed while sent batches wait for a confirmation
		dueArmed  bool
		closing   bool // Close was called: confirm without waiting
	)
	due.Stop()
	defer due.Stop()
	confirm := func() {
		covered = len(sent)
		if dueArmed {
			due.Stop()
			dueArmed = false
		}
		go func() { confirmed <- p.Confirm(s.pubCtx) }()
	}
	// done takes the result of the running Confirm.
	done := func(err error) {
		n := covered
		covered = 0
		if err != nil {
			return
		}
		events := 0
		for _, batch := range sent[:n] {
			events += len(batch)
			clear(batch)
			free = append(free, batch[:0])
		}
		s.published(events)
		sent = append(sent[:0], sent[n:]...)
		bo.Reset()
		s.setErr(&s.pubErr, nil)
	}
	// fail notes a failed Send or Confirm; false: Close gave up, stop.
	fail := func(err error) bool {
		failed = true
		if s.pubCtx.Err() != nil {
			return false
		}
		s.publishFailed(int(s.inFlight.Load()), err)
		return true
	}
	defer func() {
		if covered > 0 {
			done(<-confirmed)
		}
		// Only when Close gave up is anything left: it was not sent.
		s.stats.unsent.Add(uint64(s.inFlight.Swap(0) + int64(s.outbox.Len())))
	}()
	for {
		if failed && covered == 0 {
			_ = backoff.Sleep(s.pubCtx, bo.Next()) // ends early when Close gives up
			s.holdBack()
			if s.pubCtx.Err() != nil {
				return
			}
			// One batch at a time with Publish, as publishLoop does: nothing
			// newer goes out before them (see Pipeliner), and a connection
			// that keeps breaking still lets batches through.
			var err error
			for len(sent) > 0 && err == nil {
				if err = s.adapter.Publish(s.pubCtx, sent[0]...); err == nil {
					covered = 1
					done(nil)
				}
			}
			if err == nil {
				failed = false
			} else if !fail(err) {
				return
			}
			continue
		}
		if !failed && covered == 0 && len(sent) > 0 {
			if len(sent) >= confirmAfter || closing {
				confirm()
			} else if !dueArmed {
				due.Reset(confirmDelay)
				dueArmed = true
			}
		}
		if !failed && len(sent) < MaxPipelined {
			var batch [][]byte
			if k := len(free); k > 0 {
				batch, free = free[k-1], free[:k-1]
			}
			if batch = s.outbox.Take(batch, s.opts.MaxBatch, maxBytes); len(batch) > 0 {
				s.inFlight.Add(int64(len(batch)))
				sent = append(sent, batch)
				if err := p.Send(s.pubCtx, batch...); err != nil && !fail(err) {
					return
				}
				continue
			}
			free = append(free, batch)
		}
		var wake, draining <-chan struct{}
		var dueC <-chan time.Time
		if !failed && len(sent) < MaxPipelined {
			wake = s.outbox.Wake()
		}
		if covered == 0 {
			draining = s.draining
		}
		if dueArmed {
			dueC = due.C
		}
		select {
		case err := <-confirmed:
			done(err)
			if err != nil && !fail(err) {
				return
			}
		case <-wake:
		case <-dueC:
			dueArmed = false
			if !failed && len(sent) > 0 {
				confirm()
			}
		case <-draining: // at once from now on: what is sent is confirmed first
			closing = true
			if len(sent) == 0 && s.outbox.Len() == 0 {
				return
			}
		}
	}
}
