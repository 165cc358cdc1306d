package eventsync

import "sync/atomic"

// Every message carries its origin's sequence number. Receivers use it for
// two things: to drop the repeats that a retried batch produces
// (Stats.Duplicates), and to count the numbers that never arrived
// (Stats.Missed), so that what a broker loses, or what an origin dropped or
// failed to send, does not vanish silently.

// repeatWindow is how many sequence numbers are remembered per origin (a
// multiple of 64); maxOrigins bounds the origins tracked (past it, a flood of
// forged origins say, tracking starts afresh).
const (
	repeatWindow = 8192
	maxOrigins   = 1024
)

// sequences tracks the origins' sequence numbers. It is used by the dispatch
// goroutine only; missed is read by Stats.
type sequences struct {
	byOrigin   map[string]*seqWindow
	lastOrigin string // messages come in runs from one origin: skip the map then
	last       *seqWindow
	missed     atomic.Int64
}

// seen reports whether (origin, seq) is a repeat, recording it if not.
func (q *sequences) seen(origin string, seq uint64) bool {
	if q.last == nil || origin != q.lastOrigin {
		w := q.byOrigin[origin]
		if w == nil {
			if q.byOrigin == nil || len(q.byOrigin) >= maxOrigins {
				q.byOrigin = make(map[string]*seqWindow)
			}
			w = &seqWindow{}
			q.byOrigin[origin] = w
		}
		q.lastOrigin, q.last = origin, w
	}
	repeat, missedDelta := q.last.seen(seq)
	q.missed.Add(missedDelta)
	return repeat
}

// Missed returns how many sequence numbers were skipped and have not arrived.
func (q *sequences) Missed() uint64 { return uint64(max(q.missed.Load(), 0)) }

// seqWindow is a bitmap of the last repeatWindow sequence numbers up to the
// highest one seen, and the first one seen (numbers before it are not ours to
// count: the replica was not listening yet).
type seqWindow struct {
	first, max uint64
	bits       [repeatWindow / 64]uint64
}

// seen reports whether seq is a repeat, and by how much the count of missing
// numbers changes: a jump forward skips numbers (counted missing until they
// arrive), a late arrival fills one.
func (w *seqWindow) seen(seq uint64) (repeat bool, missedDelta int64) {
	if w.max == 0 {
		w.first, w.max = seq, seq
		w.set(seq)
		return false, 0
	}
	if seq > w.max {
		if seq-w.max >= repeatWindow {
			w.bits = [repeatWindow / 64]uint64{}
		} else {
			for s := w.max + 1; s < seq; s++ {
				w.clear(s)
			}
		}
		missedDelta = int64(seq - w.max - 1)
		w.max = seq
		w.set(seq)
		return false, missedDelta
	}
	if seq <= w.first {
		return seq == w.first, 0 // from before this replica listened, or the first one again
	}
	if w.max-seq >= repeatWindow {
		// Older than the window. Concurrent emitters number messages before
		// they queue them, so a message can lag far behind the highest number
		// seen without being a repeat: let it through.
		return false, -1
	}
	if w.isSet(seq) {
		return true, 0
	}
	w.set(seq)
	return false, -1
}

func (w *seqWindow) set(seq uint64)        { w.bits[seq%repeatWindow/64] |= 1 << (seq % 64) }
func (w *seqWindow) clear(seq uint64)      { w.bits[seq%repeatWindow/64] &^= 1 << (seq % 64) }
func (w *seqWindow) isSet(seq uint64) bool { return w.bits[seq%repeatWindow/64]&(1<<(seq%64)) != 0 }
