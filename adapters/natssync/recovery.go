package natssync

import (
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventsync/eventsync"
)

// recoveryExpiry is how long the consumer of a replica that recovers by
// count only (Recovery.Events) outlives its replica.
const recoveryExpiry = 5 * time.Minute

// SetRecovery implements eventsync.Recoverer with durable mode: a JetStream
// stream keeps the key's events (MaxAge Recovery.Window, MaxMsgs
// Recovery.Events) and each replica has a durable consumer named after its
// ReplicaID, which resumes after the last event it acknowledged, across
// reconnects, and across restarts with the same ReplicaID. A consumer unused
// for the window (5 minutes if only Events is set) is removed by the
// server, so that a gone replica's consumer does not linger. A durable name
// given in the URI or Config is kept.
func (a *Adapter) SetRecovery(r eventsync.Recovery, replicaID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sub != nil || a.consume != nil {
		return errors.New("natssync: recovery must be set before Subscribe")
	}
	if a.cfg.Durable == "" {
		a.cfg.Durable = "replica_" + strings.Map(func(r rune) rune {
			if r == '.' || r == '*' || r == '>' || r == ' ' || r == '\t' {
				return '_'
			}
			return r
		}, replicaID)
		a.cfg.InactiveThreshold = r.Window
		if a.cfg.InactiveThreshold <= 0 {
			a.cfg.InactiveThreshold = recoveryExpiry
		}
	}
	if r.Window > 0 {
		a.cfg.MaxAge = r.Window
	}
	a.cfg.MaxMsgs = int64(r.Events)
	return nil
}

// countRecovered counts a durable delivery as recovered when the stream
// stored it before the connection came back, while the backlog lasts.
func (a *Adapter) countRecovered(m jetstream.Msg) {
	back := a.backAt.Load()
	if back == 0 {
		return
	}
	meta, err := m.Metadata()
	if err != nil {
		return
	}
	if meta.Timestamp.UnixNano() <= back {
		a.recovered.Add(1)
	} else {
		a.backAt.CompareAndSwap(back, 0)
	}
}
