package eventsync

import (
	"time"

	"github.com/eventsync/eventsync/internal/signing"
	"github.com/eventsync/eventsync/serializer"
)

// TailEvent is the event name of a tail announcement: once a replica has
// been quiet for Options.TailInterval after publishing, it announces the
// last sequence number it used, so that a receiver that lost the last
// events counts them in Stats.Missed instead of never (a gap shows only
// when a later event arrives). On feathers-sync's wire it is a custom event
// of the last path the replica published on, which a Node replica emits on
// that service to nobody (Feathers publishes only the events a service
// declares), and which eventsync receivers never dispatch.
const TailEvent = "eventsync-tail"

// DefaultTailInterval is Options.TailInterval's default.
const DefaultTailInterval = 5 * time.Second

// tailLoop announces the last sequence number once publishing has been
// quiet for a whole interval and everything queued went out.
func (s *Sync) tailLoop() {
	t := time.NewTicker(s.opts.TailInterval)
	defer t.Stop()
	var previous, announced uint64
	for {
		select {
		case <-t.C:
		case <-s.draining:
			return
		}
		last := s.seq.Load()
		quiet := last == previous && s.outbox.Len() == 0 && s.inFlight.Load() == 0
		previous = last
		if last == 0 || last == announced || !quiet {
			continue
		}
		if s.announce(last) {
			announced = last
		}
	}
}

// announce queues a tail announcement of seq, on the last path published.
func (s *Sync) announce(seq uint64) bool {
	path, _ := s.lastPath.Load().(string)
	if path == "" {
		return false
	}
	m := serializer.Message{Event: TailEvent, Path: path, Origin: s.opts.ReplicaID, Epoch: s.epoch}
	msg, err := s.encodeWith(&m, func(int) (uint64, error) { return seq, nil }) // reuses the last number
	if err != nil {
		return false
	}
	if len(s.opts.Secret) > 0 {
		msg = signing.Sign(s.opts.Secret, msg, s.now().UnixMilli(), s.jsonWire)
	}
	s.stats.emitted.Add(1)
	if _, closed := s.outbox.Push(msg); closed {
		s.stats.emitted.Add(^uint64(0))
		return false
	}
	return true
}
