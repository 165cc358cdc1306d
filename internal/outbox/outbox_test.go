package outbox

import (
	"fmt"
	"reflect"
	"testing"
)

func take(q *Queue, max, maxBytes int) []string {
	var out []string
	for _, m := range q.Take(nil, max, maxBytes) {
		out = append(out, string(m))
	}
	return out
}

func TestDropOldest(t *testing.T) {
	q := New(3, false)
	for i, m := range []string{"a", "b", "c", "d", "e"} {
		if dropped := q.Push([]byte(m)); dropped != (i >= 3) {
			t.Fatalf("push %s: dropped=%v", m, dropped)
		}
	}
	if got := take(q, 10, 100); !reflect.DeepEqual(got, []string{"c", "d", "e"}) {
		t.Fatalf("got %v", got)
	}
	if q.Len() != 0 {
		t.Fatalf("len %d", q.Len())
	}
}

func TestDropNewest(t *testing.T) {
	q := New(2, true)
	for _, m := range []string{"a", "b", "c"} {
		q.Push([]byte(m))
	}
	if got := take(q, 10, 100); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("got %v", got)
	}
}

func TestTakeLimits(t *testing.T) {
	q := New(10, false)
	for _, m := range []string{"aaaa", "bbbb", "cccc", "dddd"} {
		q.Push([]byte(m))
	}
	select {
	case <-q.Wake():
	default:
		t.Fatal("no wake signal after Push")
	}
	if got := take(q, 3, 8); !reflect.DeepEqual(got, []string{"aaaa", "bbbb"}) {
		t.Fatalf("byte limit: got %v", got)
	}
	if got := take(q, 1, 1); !reflect.DeepEqual(got, []string{"cccc"}) {
		t.Fatalf("a message larger than maxBytes still goes alone: got %v", got)
	}
	if got := take(q, 5, 100); !reflect.DeepEqual(got, []string{"dddd"}) {
		t.Fatalf("got %v", got)
	}
}

// The ring grows with the backlog up to the capacity, keeps FIFO order
// across growth and wrap-around, and shrinks once drained.
func TestGrowAndShrink(t *testing.T) {
	q := New(3000, false)
	var want []string
	for i := range 3005 { // 5 are taken on the way: 3,000 queued at the end
		m := fmt.Sprint(i)
		want = append(want, m)
		if q.Push([]byte(m)) {
			t.Fatalf("dropped at %d", i)
		}
		if i == 10 { // wrap the ring once before it grows
			take(q, 5, 1<<20)
			want = want[5:]
		}
	}
	if len(q.ring) != 3000 {
		t.Fatalf("ring is %d long", len(q.ring))
	}
	if !q.Push([]byte("x")) {
		t.Fatal("no drop past the capacity")
	}
	want = append(want[1:], "x")
	if got := take(q, 5000, 1<<30); !reflect.DeepEqual(got, want) {
		t.Fatalf("order lost: %v...", got[:10])
	}
	if len(q.ring) != keepRing {
		t.Fatalf("ring not shrunk: %d", len(q.ring))
	}
}
