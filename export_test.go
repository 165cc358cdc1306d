package eventsync

import "time"

// SetDecodeWorkers forces parallel decoding, which this machine's core
// count would not turn on, so that tests exercise it. Call it before any
// message arrives.
func (s *Sync) SetDecodeWorkers(n int) { s.decodeWorkers.Store(int32(n)) }

// SyncIn exposes the sync-in path to the fuzz test.
func (s *Sync) SyncIn(msg []byte) {
	var in incoming
	s.decode(msg, &in)
	s.commit(&in)
}

// SetClock replaces the clock that signs messages and judges their age.
// Call it before any message is emitted or arrives.
func (s *Sync) SetClock(now func() time.Time) { s.now = now }
