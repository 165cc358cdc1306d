package synctest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
)

// FailoverResult is what one receiver saw of a stream through a failure.
type FailoverResult struct {
	Dispatched int           // distinct events it dispatched
	Missed     uint64        // Stats.Missed: events it knows it lost
	Window     time.Duration // the longest time between two arrivals: the loss window
}

// Failover emits seq events 0..n-1 on pub, one every every, calls fail once
// at were emitted, and returns once every sub dispatched the last one. It
// fails the test unless every sub accounts for every event: what it
// dispatched plus what it counted as missed is n. pub's outbox must hold
// what waits during the failure (Options.OutboxSize).
func Failover(t testing.TB, pub *Replica, subs []*Replica, n, at int, every time.Duration, fail func()) []FailoverResult {
	t.Helper()
	type arrivals struct {
		mu    sync.Mutex
		seen  map[int]bool
		last  time.Time
		worst time.Duration
		done  chan struct{}
	}
	all := make([]*arrivals, len(subs))
	for i, sub := range subs {
		a := &arrivals{seen: make(map[int]bool), done: make(chan struct{})}
		all[i] = a
		sub.Svc.On("seq", func(ev eventsync.Event) {
			now := time.Now()
			a.mu.Lock()
			defer a.mu.Unlock()
			k := ev.Data.(Seq).N
			if !a.last.IsZero() && now.Sub(a.last) > a.worst {
				a.worst = now.Sub(a.last)
			}
			a.last = now
			if !a.seen[k] && k == n-1 {
				close(a.done)
			}
			a.seen[k] = true
		})
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := range n {
		if i == at {
			fail()
		}
		if err := pub.Svc.Emit(context.Background(), "seq", Seq{N: i}); err != nil {
			t.Fatal(err)
		}
		<-tick.C
	}
	out := make([]FailoverResult, len(subs))
	for i, a := range all {
		select {
		case <-a.done:
		case <-time.After(60 * time.Second):
			t.Fatalf("receiver %d: the last event did not arrive; stats %+v; publisher %+v", i, subs[i].Sync.Stats(), pub.Sync.Stats())
		}
		// Redeliveries of what was in flight when the connection broke may
		// come after the last event: let the accounting settle.
		for settle := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			a.mu.Lock()
			out[i] = FailoverResult{Dispatched: len(a.seen), Missed: subs[i].Sync.Stats().Missed, Window: a.worst}
			a.mu.Unlock()
			if out[i].Dispatched+int(out[i].Missed) == n || time.Now().After(settle) {
				break
			}
		}
		if got := out[i].Dispatched + int(out[i].Missed); got != n {
			t.Errorf("receiver %d: dispatched %d + missed %d = %d, want %d (stats %+v)", i, out[i].Dispatched, out[i].Missed, got, n, subs[i].Sync.Stats())
		}
	}
	return out
}

// RecoverThroughCut streams 3,000 events, one a millisecond, from a replica
// on pubURI to one on subURI, which reaches the broker through proxy; the
// proxy cuts its connections for a second at event 500. With recovery on
// both URIs, it fails the test unless every event arrives, none missed,
// and the catch-up is counted in Recovered.
func RecoverThroughCut(t testing.TB, pubURI, subURI, key string, proxy interface {
	Cut()
	Restore()
}) {
	t.Helper()
	const n = 3000
	pub := NewReplica(t, eventsync.Options{URI: pubURI, Key: key, OutboxSize: n})
	sub := NewReplica(t, eventsync.Options{URI: subURI, Key: key})
	res := Failover(t, pub, []*Replica{sub}, n, 500, time.Millisecond, func() {
		proxy.Cut()
		time.AfterFunc(time.Second, proxy.Restore)
	})
	st := sub.Sync.Stats()
	t.Logf("cut for 1 s: dispatched %d, missed %d, recovered %d, longest gap %v", res[0].Dispatched, res[0].Missed, st.Recovered, res[0].Window.Round(time.Millisecond))
	if res[0].Missed != 0 || res[0].Dispatched != n || st.Recovered == 0 || st.Reconnects == 0 {
		t.Fatalf("not recovered: %+v, stats %+v", res[0], st)
	}
}
