// Package window remembers the last n keys seen, to drop repeats without
// unbounded memory.
package window

// Window holds at most n keys; adding one more forgets the oldest.
type Window[K comparable] struct {
	ring []K
	next int
	full bool
	set  map[K]struct{}
}

// New returns a window of n keys (n >= 1).
func New[K comparable](n int) *Window[K] {
	return &Window[K]{ring: make([]K, max(n, 1)), set: make(map[K]struct{}, n)}
}

// Seen reports whether k is in the window, and adds it if not.
func (w *Window[K]) Seen(k K) bool {
	if _, ok := w.set[k]; ok {
		return true
	}
	if w.full {
		delete(w.set, w.ring[w.next])
	}
	w.ring[w.next] = k
	w.set[k] = struct{}{}
	w.next++
	if w.next == len(w.ring) {
		w.next, w.full = 0, true
	}
	return false
}
