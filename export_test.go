package eventsync

// SyncIn exposes the sync-in path to the fuzz test.
func (s *Sync) SyncIn(msg []byte) { s.syncIn(msg) }
