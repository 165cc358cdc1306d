package eventsync

import "sync/atomic"

// Every message carries its origin's epoch and sequence number. Receivers
// use them for two things: to drop the repeats that a retried batch
// produces (Stats.Duplicates), and to count the numbers that never arrived
// (Stats.Missed), so that what a broker loses, or what an origin dropped or
// failed to send, does not vanish silently. The epoch is new at every
// Configure, so that a replica restarted under the same ReplicaID, which
// numbers from 1 again, is told apart from its previous run.

// repeatWindow is how many sequence numbers are remembered per origin and
// epoch (a multiple of 64). It must cover everything a publisher can send
// again after a failure, MaxPipelined batches of at most maxMaxBatch
// events, with room to spare for the numbers concurrent emitters take
// before they queue their events: a re-sent message older than the window
// could not be told from a late one.
//
// maxOrigins bounds the origins tracked (past it, a flood of forged origins
// say, tracking starts afresh).
const (
	repeatWindow = 1 << 16
	maxMaxBatch  = 1024
	maxOrigins   = 1024
)

// originRun is one run of an origin: its ID and epoch.
type originRun struct {
	origin string
	epoch  uint64
}

// sequences tracks the origins' sequence numbers. It is used by the dispatch
// goroutine only; the counters are read by Stats.
type sequences struct {
	byRun   map[originRun]*seqWindow
	lastRun originRun // messages come in runs from one origin: skip the map then
	last    *seqWindow
	missed  atomic.Uint64
}

// verdict is what the window says of a sequence number.
type verdict int

const (
	fresh  verdict = iota // not seen before: dispatch it
	repeat                // seen before: drop it
	stale                 // older than the window: cannot tell, drop it
)

// seen judges (run, seq), recording it if fresh.
func (q *sequences) seen(run originRun, seq uint64) verdict {
	if q.last == nil || run != q.lastRun {
		w := q.byRun[run]
		if w == nil {
			if q.byRun == nil || len(q.byRun) >= maxOrigins {
				q.byRun = make(map[originRun]*seqWindow)
			}
			w = new(seqWindow)
			q.byRun[run] = w
		}
		q.lastRun, q.last = run, w
	}
	v, newlyMissed, filled := q.last.seen(seq)
	if newlyMissed > 0 {
		q.missed.Add(newlyMissed)
	}
	if filled {
		q.missed.Add(^uint64(0))
	}
	return v
}

// tail takes a tail announcement: run's last number is seq, so numbers up
// to it that never came are missed now, not once a later event shows the
// gap. A run never seen is not counted (it may predate this replica).
func (q *sequences) tail(run originRun, seq uint64) {
	w := q.byRun[run]
	if w == nil || w.max == 0 || seq <= w.max {
		return
	}
	if seq-w.max >= repeatWindow {
		w.bits = [repeatWindow / 64]uint64{}
	} else {
		for s := w.max + 1; s <= seq; s++ {
			w.clear(s)
		}
	}
	q.missed.Add(seq - w.max)
	w.max = seq
}

// Missed returns how many sequence numbers were skipped and have not arrived.
func (q *sequences) Missed() uint64 { return q.missed.Load() }

// seqWindow is a bitmap of the last repeatWindow sequence numbers up to the
// highest one seen, and the first one seen (numbers before it are not ours to
// count: the replica was not listening yet).
type seqWindow struct {
	first, max uint64
	bits       [repeatWindow / 64]uint64
}

// seen judges seq and reports how many numbers it newly counts as missed (a
// jump forward skips them until they arrive) and whether it filled one that
// was counted missed (a late arrival). A number older than the window is
// stale: it was counted missed when it was skipped, or dispatched when it
// came, and stays so; dropping it keeps Dispatched + Missed exact either way.
func (w *seqWindow) seen(seq uint64) (v verdict, newlyMissed uint64, filled bool) {
	if w.max == 0 {
		w.first, w.max = seq, seq
		w.set(seq)
		return fresh, 0, false
	}
	if seq > w.max {
		if seq-w.max >= repeatWindow {
			w.bits = [repeatWindow / 64]uint64{}
		} else {
			for s := w.max + 1; s < seq; s++ {
				w.clear(s)
			}
		}
		newlyMissed = seq - w.max - 1
		w.max = seq
		w.set(seq)
		return fresh, newlyMissed, false
	}
	if seq < w.first {
		return fresh, 0, false // from before this replica listened
	}
	if seq == w.first {
		return repeat, 0, false
	}
	if w.max-seq >= repeatWindow {
		return stale, 0, false
	}
	if w.isSet(seq) {
		return repeat, 0, false
	}
	w.set(seq)
	return fresh, 0, true
}

func (w *seqWindow) set(seq uint64)        { w.bits[seq%repeatWindow/64] |= 1 << (seq % 64) }
func (w *seqWindow) clear(seq uint64)      { w.bits[seq%repeatWindow/64] &^= 1 << (seq % 64) }
func (w *seqWindow) isSet(seq uint64) bool { return w.bits[seq%repeatWindow/64]&(1<<(seq%64)) != 0 }
