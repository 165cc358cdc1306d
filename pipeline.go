package eventsync

import (
	"github.com/eventsync/eventsync/internal/backoff"
)

// pipelineLoop is publishLoop for a Pipeliner: it sends the next batch while
// a Confirm, on a goroutine of its own, waits for the broker to acknowledge
// the batches sent before it (at full speed on NATS the flush round trip
// left the connection idle a fifth of the time). Events count as published
// once confirmed. When a Send or Confirm fails, nothing new is sent until
// every unconfirmed batch has been published again, in order; the receivers
// drop what arrives twice (seq).
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
	)
	confirm := func() {
		covered = len(sent)
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
			confirm()
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
		if !failed && len(sent) < MaxPipelined {
			wake = s.outbox.Wake()
		}
		if len(sent) == 0 { // and the outbox was empty just now
			draining = s.draining
		}
		select {
		case err := <-confirmed:
			done(err)
			if err != nil && !fail(err) {
				return
			}
		case <-wake:
		case <-draining:
			if s.outbox.Len() == 0 {
				return
			}
		}
	}
}
