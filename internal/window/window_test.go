package window

import "testing"

func TestWindow(t *testing.T) {
	w := New[int](3)
	for _, k := range []int{1, 2, 3} {
		if w.Seen(k) {
			t.Fatalf("%d seen before it was added", k)
		}
	}
	if !w.Seen(2) {
		t.Fatal("2 not remembered")
	}
	w.Seen(4) // forgets 1
	if w.Seen(1) {
		t.Fatal("1 still remembered past the window")
	}
	if len(w.set) != 3 {
		t.Fatalf("window holds %d keys", len(w.set))
	}
}
