// Package outbox is the bounded queue between producers and one consumer
// goroutine: emitters and the publisher of a Sync, and the adapter's delivery
// callback and the dispatcher. Pushing never blocks; when the queue is full
// the overflow policy drops a message and says so, so that the caller can
// count it.
package outbox

import "sync"

// The ring starts at minRing slots and grows up to the capacity while a
// backlog builds; once drained it shrinks back to keepRing, so that a large
// capacity costs memory (and garbage collector scanning) only while it is
// used, and a busy queue does not regrow from nothing after every batch
// (that cost 3.6% of CPU in the NATS benchmark).
const (
	minRing  = 64
	keepRing = 1024
)

// Queue is a bounded FIFO of messages, safe for many producers and one
// consumer. The zero value is not usable; call New.
type Queue struct {
	mu         sync.Mutex
	ring       [][]byte
	head, n    int
	capacity   int
	dropNewest bool
	wake       chan struct{} // one slot: "something was pushed"
}

// New returns a queue holding at most capacity messages. When it is full,
// Push drops the oldest message, or with dropNewest the pushed one.
func New(capacity int, dropNewest bool) *Queue {
	capacity = max(capacity, 1)
	return &Queue{ring: make([][]byte, min(capacity, minRing)), capacity: capacity,
		dropNewest: dropNewest, wake: make(chan struct{}, 1)}
}

// Push appends msg and reports whether a message was dropped to make room.
func (q *Queue) Push(msg []byte) (dropped bool) {
	q.mu.Lock()
	if q.n == len(q.ring) && len(q.ring) < q.capacity {
		q.resize(min(2*len(q.ring), q.capacity))
	}
	if q.n == len(q.ring) {
		dropped = true
		if q.dropNewest {
			q.mu.Unlock()
			return true
		}
		q.ring[q.head] = nil
		q.head = q.wrap(q.head + 1)
		q.n--
	}
	q.ring[q.wrap(q.head+q.n)] = msg
	q.n++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return dropped
}

// wrap maps i in [0, 2*len(ring)) to a ring index without a division.
func (q *Queue) wrap(i int) int {
	if i >= len(q.ring) {
		i -= len(q.ring)
	}
	return i
}

// resize moves the queued messages into a ring of size. The caller holds q.mu.
func (q *Queue) resize(size int) {
	ring := make([][]byte, size)
	for i := range q.n {
		ring[i] = q.ring[q.wrap(q.head+i)]
	}
	q.ring, q.head = ring, 0
}

// Take moves the oldest messages into dst, at most max of them and, past the
// first, at most maxBytes in all, and returns dst.
func (q *Queue) Take(dst [][]byte, max, maxBytes int) [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	size := 0
	for q.n > 0 && len(dst) < max {
		msg := q.ring[q.head]
		if len(dst) > 0 && size+len(msg) > maxBytes {
			break
		}
		size += len(msg)
		dst = append(dst, msg)
		q.ring[q.head] = nil
		q.head = q.wrap(q.head + 1)
		q.n--
	}
	if q.n == 0 && len(q.ring) > keepRing {
		q.ring, q.head = make([][]byte, keepRing), 0 // the backlog is gone: give the memory back
	}
	return dst
}

// Len returns the number of queued messages.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Wake returns a channel that receives after a Push; the consumer waits on it
// when Take finds the queue empty.
func (q *Queue) Wake() <-chan struct{} { return q.wake }
