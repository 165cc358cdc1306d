package eventsync

import "testing"

func TestSeqWindow(t *testing.T) {
	var r repeats
	for _, tc := range []struct {
		origin string
		seq    uint64
		seen   bool
	}{
		{"a", 1, false}, {"a", 2, false}, {"a", 2, true}, {"a", 1, true},
		{"b", 1, false}, {"a", 5, false}, {"a", 4, false}, {"a", 4, true}, {"a", 3, false},
		{"a", 5 + repeatWindow, false}, {"a", 5, false}, {"a", 6, false}, {"a", 6, true}, {"a", 5 + repeatWindow - 1, false},
		{"b", 1, true}, {"b", 2, false},
	} {
		if got := r.seen(tc.origin, tc.seq); got != tc.seen {
			t.Fatalf("seen(%s, %d) = %v, want %v", tc.origin, tc.seq, got, tc.seen)
		}
	}
}
