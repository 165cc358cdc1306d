package mongosync

import (
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/eventsync/eventsync"
)

// SetRecovery implements eventsync.Recoverer. A tailing replica already
// resumes after the last document it delivered, within what the capped
// collection holds; Recovery.Events also caps the collection it creates at
// that many documents (besides capped_size). A capped collection cannot
// expire documents by age, so Recovery.Window is not applied: size the
// collection (capped_size) to hold the window at your event rate. A process
// that starts tails from the newest document, whatever its ReplicaID.
func (a *Adapter) SetRecovery(r eventsync.Recovery, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ensured {
		return errors.New("mongosync: recovery must be set before the collection is used")
	}
	a.maxDocs = int64(r.Events)
	return nil
}

// countRecovered counts a document delivered after a reopen as recovered
// when it was inserted before the reopen, while the backlog lasts.
func (t *tailer) countRecovered(doc bson.Raw) {
	if t.backAt.IsZero() {
		return
	}
	if ts, ok := doc.Lookup("ts").TimeOK(); ok && !ts.After(t.backAt) {
		t.a.recovered.Add(1)
		return
	}
	t.backAt = time.Time{}
}
