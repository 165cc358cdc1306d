package eventsync

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Recovery asks the broker to keep events for a replica whose connection
// broke, so that it gets them once it is back: within Window (how long an
// event is kept) and Events (how many are kept), whichever bound comes
// first; a zero bound is no bound, and the zero value is off. Each adapter
// maps it onto what its broker has (docs/reliability.md): a Redis stream,
// a RabbitMQ queue per replica, a JetStream consumer per replica, the
// capped collection of MongoDB. Events the window no longer held are
// counted: Stats.ResumeGaps, and Stats.Missed once a later event shows the
// gap; those that were kept and delivered after a reconnect are counted in
// Stats.Recovered.
type Recovery struct {
	Window time.Duration
	Events int
}

// Enabled reports whether either bound is set.
func (r Recovery) Enabled() bool { return r.Window > 0 || r.Events > 0 }

// Recoverer is implemented by adapters that can keep events for a replica
// while it reconnects. The Sync calls SetRecovery before Subscribe, with
// the replica's ID: what the broker keeps is kept for that ID, so that a
// process restarted with the same ReplicaID also gets what was published
// while it was away, within the window.
type Recoverer interface {
	SetRecovery(r Recovery, replicaID string) error
}

// recoveryFromURI reads the URI parameters recovery (a duration) and
// recovery_events (a count) and removes them from q.
func recoveryFromURI(q url.Values) (Recovery, error) {
	var r Recovery
	if s := q.Get("recovery"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return r, fmt.Errorf("recovery must be a duration such as 30s, not %q", s)
		}
		r.Window = d
	}
	if s := q.Get("recovery_events"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return r, fmt.Errorf("recovery_events must be a count, not %q", s)
		}
		r.Events = n
	}
	q.Del("recovery")
	q.Del("recovery_events")
	return r, nil
}
