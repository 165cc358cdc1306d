package eventsync

import "testing"

func TestSequences(t *testing.T) {
	var q sequences
	for i, tc := range []struct {
		origin string
		seq    uint64
		seen   bool
		missed uint64
	}{
		{"a", 1, false, 0}, {"a", 2, false, 0}, {"a", 2, true, 0}, {"a", 1, true, 0},
		{"b", 7, false, 0}, // b's first: nothing before it is counted
		{"a", 5, false, 2}, {"a", 4, false, 1}, {"a", 4, true, 1}, {"a", 3, false, 0},
		{"b", 3, false, 0}, // before b's first: from before this replica listened
		{"a", 5 + repeatWindow, false, repeatWindow - 1},
		{"a", 6, false, repeatWindow - 2}, // past the window: let through, filled
		{"a", 5 + repeatWindow - 1, false, repeatWindow - 3},
		{"a", 5 + repeatWindow - 1, true, repeatWindow - 3},
		{"b", 7, true, repeatWindow - 3}, {"b", 8, false, repeatWindow - 3},
	} {
		if got := q.seen(tc.origin, tc.seq); got != tc.seen {
			t.Fatalf("%d: seen(%s, %d) = %v, want %v", i, tc.origin, tc.seq, got, tc.seen)
		}
		if m := q.Missed(); m != tc.missed {
			t.Fatalf("%d: after (%s, %d) missed = %d, want %d", i, tc.origin, tc.seq, m, tc.missed)
		}
	}
}
