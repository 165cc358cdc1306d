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
		if dropped, _ := q.Push([]byte(m)); dropped != (i >= 3) {
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

// FIFO order holds across segments, the capacity bounds the queue, and a
// drained queue holds at most two segments (the one in use and a spare).
func TestSegments(t *testing.T) {
	q := New(3000, false)
	var want []string
	for i := range 3005 { // 5 are taken on the way: 3,000 queued at the end
		m := fmt.Sprint(i)
		want = append(want, m)
		if dropped, _ := q.Push([]byte(m)); dropped {
			t.Fatalf("dropped at %d", i)
		}
		if i == 10 {
			take(q, 5, 1<<20)
			want = want[5:]
		}
	}
	if segs := segments(q); segs != 3 {
		t.Fatalf("3,000 messages from offset 5 in %d segments", segs)
	}
	if dropped, _ := q.Push([]byte("x")); !dropped {
		t.Fatal("no drop past the capacity")
	}
	want = append(want[1:], "x")
	if got := take(q, 5000, 1<<30); !reflect.DeepEqual(got, want) {
		t.Fatalf("order lost: %v...", got[:10])
	}
	if segs := segments(q); segs != 1 || q.spare == nil {
		t.Fatalf("drained: %d segments in use, spare %v", segs, q.spare != nil)
	}
	for i := range segmentSize + 1 { // refills the segment in hand, then the spare
		q.Push([]byte(fmt.Sprint(i)))
	}
	if segs := segments(q); segs != 2 || q.spare != nil {
		t.Fatalf("refilled: %d segments, spare %v", segs, q.spare != nil)
	}
}

func segments(q *Queue) int {
	n := 0
	for s := q.head; s != nil; s = s.next {
		n++
	}
	return n
}

func TestClosedRefuses(t *testing.T) {
	q := New(10, false)
	q.Push([]byte("a"))
	q.Close()
	if dropped, closed := q.Push([]byte("b")); dropped || !closed {
		t.Fatalf("push after Close: dropped %v, closed %v", dropped, closed)
	}
	if got := take(q, 10, 100); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("what was queued before Close is still taken: got %v", got)
	}
}
