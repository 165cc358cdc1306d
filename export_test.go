package eventsync

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
