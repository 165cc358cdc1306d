package eventsync

import "testing"

func TestSequences(t *testing.T) {
	var q sequences
	a, b := originRun{"a", 1}, originRun{"b", 1}
	for i, tc := range []struct {
		run    originRun
		seq    uint64
		want   verdict
		missed uint64
	}{
		{a, 1, fresh, 0}, {a, 2, fresh, 0}, {a, 2, repeat, 0}, {a, 1, repeat, 0},
		{b, 7, fresh, 0}, // b's first: nothing before it is counted
		{a, 5, fresh, 2}, {a, 4, fresh, 1}, {a, 4, repeat, 1}, {a, 3, fresh, 0},
		{b, 3, fresh, 0}, // before b's first: from before this replica listened
		{a, 5 + repeatWindow, fresh, repeatWindow - 1},
		// Past the window: stale, dropped, and still counted missed (it was,
		// when skipped), so that Missed never drops below the truth.
		{a, 3, stale, repeatWindow - 1},
		{a, 6, fresh, repeatWindow - 2}, // in the window: a late arrival fills its place
		{a, 5 + repeatWindow - 1, fresh, repeatWindow - 3},
		{a, 5 + repeatWindow - 1, repeat, repeatWindow - 3},
		{b, 7, repeat, repeatWindow - 3}, {b, 8, fresh, repeatWindow - 3},
	} {
		if got := q.seen(tc.run, tc.seq); got != tc.want {
			t.Fatalf("%d: seen(%v, %d) = %v, want %v", i, tc.run, tc.seq, got, tc.want)
		}
		if m := q.Missed(); m != tc.missed {
			t.Fatalf("%d: after (%v, %d) missed = %d, want %d", i, tc.run, tc.seq, m, tc.missed)
		}
	}
}

// TestSequencesStaleKeepsMissedTrue: a flood of numbers older than the
// window (a re-sent backlog) must neither be let through nor hide a later
// real gap. Letting them through drove Missed below zero, where it was
// clamped, and a gap of 1,000 numbers after that read as 0.
func TestSequencesStaleKeepsMissedTrue(t *testing.T) {
	var q sequences
	run := originRun{"pub", 7}
	const n = 2 * repeatWindow
	for s := uint64(1); s <= n; s++ {
		q.seen(run, s)
	}
	for s := uint64(2); s <= n-repeatWindow; s++ { // re-sent, older than the window
		if v := q.seen(run, s); v != stale {
			t.Fatalf("seq %d re-sent: %v, want stale", s, v)
		}
	}
	q.seen(run, n+1001) // a real gap of 1,000
	if m := q.Missed(); m != 1000 {
		t.Fatalf("missed = %d after a gap of 1,000, want 1,000", m)
	}
}

// TestSequencesEpochs: a replica restarted under the same origin numbers
// from 1 again in a new epoch; none of its numbers is a repeat of the old
// run's.
func TestSequencesEpochs(t *testing.T) {
	var q sequences
	for s := uint64(1); s <= 5; s++ {
		q.seen(originRun{"pod-0", 1}, s)
	}
	for s := uint64(1); s <= 3; s++ {
		if v := q.seen(originRun{"pod-0", 2}, s); v != fresh {
			t.Fatalf("new run's seq %d: %v, want fresh", s, v)
		}
	}
	if m := q.Missed(); m != 0 {
		t.Fatalf("missed = %d, want 0", m)
	}
}

func (v verdict) String() string { return [...]string{"fresh", "repeat", "stale"}[v] }

// A tail announcement counts the numbers up to it that never came, and a
// late arrival among them fills its place again; an announcement of what
// came, or of a run never seen, counts nothing.
func TestSequencesTail(t *testing.T) {
	var q sequences
	run := originRun{"a", 1}
	for s := uint64(1); s <= 5; s++ {
		q.seen(run, s)
	}
	q.tail(run, 5)
	q.tail(originRun{"b", 1}, 9)
	if q.Missed() != 0 {
		t.Fatalf("missed %d after tails of nothing lost", q.Missed())
	}
	q.tail(run, 8)
	if q.Missed() != 3 {
		t.Fatalf("missed %d, want 3", q.Missed())
	}
	if v := q.seen(run, 7); v != fresh || q.Missed() != 2 {
		t.Fatalf("late 7: %v, missed %d", v, q.Missed())
	}
	if v := q.seen(run, 9); v != fresh || q.Missed() != 2 {
		t.Fatalf("9 after the tail: %v, missed %d", v, q.Missed())
	}
}
