package eventsync

// SyncIn exposes the sync-in path to the fuzz test.
func (s *Sync) SyncIn(msg []byte) {
	var in incoming
	s.decode(msg, &in)
	s.commit(&in)
}
