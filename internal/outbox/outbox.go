// Package outbox is the bounded queue between producers and one consumer
// goroutine: emitters and the publisher of a Sync, and the adapter's delivery
// callback and the dispatcher. Pushing never blocks; when the queue is full
// the overflow policy drops a message and says so, so that the caller can
// count it.
package outbox

import "sync"

// Messages sit in a list of fixed segments: the queue grows and shrinks a
// segment at a time and never copies what it holds. (A ring that doubled
// and was cut back after each drain spent 4.7% of the core benchmark's CPU
// copying itself.) One drained segment is kept for reuse, so a queue that
// empties and fills again does not allocate.
const segmentSize = 1024

type segment struct {
	msgs [segmentSize][]byte
	next *segment
}

// Queue is a bounded FIFO of messages, safe for many producers and one
// consumer. The zero value is not usable; call New.
type Queue struct {
	mu         sync.Mutex
	head, tail *segment // take at head.msgs[out], push at tail.msgs[in]
	out, in    int
	spare      *segment
	n          int
	capacity   int
	dropNewest bool
	closed     bool
	wake       chan struct{} // one slot: "something was pushed"
}

// New returns a queue holding at most capacity messages. When it is full,
// Push drops the oldest message, or with dropNewest the pushed one.
func New(capacity int, dropNewest bool) *Queue {
	seg := new(segment)
	return &Queue{head: seg, tail: seg, capacity: max(capacity, 1),
		dropNewest: dropNewest, wake: make(chan struct{}, 1)}
}

// Push appends msg and reports whether a message was dropped to make room
// (the oldest, or msg itself with dropNewest), or whether msg was refused
// because the queue is closed.
func (q *Queue) Push(msg []byte) (dropped, closed bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false, true
	}
	if q.n == q.capacity {
		if q.dropNewest {
			q.mu.Unlock()
			return true, false
		}
		dropped = true
		q.pop()
	}
	if q.in == segmentSize {
		seg := q.spare
		if seg == nil {
			seg = new(segment)
		}
		q.spare = nil
		q.tail.next, q.tail, q.in = seg, seg, 0
	}
	q.tail.msgs[q.in] = msg
	q.in++
	q.n++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return dropped, false
}

// Close makes every later Push refuse its message; what is queued stays to
// be taken. Producers need no lock of their own to know whether the
// consumer's final Take will see their message: it will if Push took it.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// pop removes and returns the oldest message. The caller holds q.mu and
// knows the queue is not empty.
func (q *Queue) pop() []byte {
	msg := q.head.msgs[q.out]
	q.head.msgs[q.out] = nil
	q.out++
	q.n--
	switch {
	case q.n == 0: // start over at the front of the segment in hand
		q.out, q.in = 0, 0
		if q.head != q.tail {
			q.head.next, q.spare = nil, q.head
			q.head = q.tail
		}
	case q.out == segmentSize:
		done := q.head
		q.head, q.out = done.next, 0
		done.next, q.spare = nil, done
	}
	return msg
}

// Take moves the oldest messages into dst, at most max of them and, past the
// first, at most maxBytes in all, and returns dst.
func (q *Queue) Take(dst [][]byte, max, maxBytes int) [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	size := 0
	for q.n > 0 && len(dst) < max {
		msg := q.head.msgs[q.out]
		if len(dst) > 0 && size+len(msg) > maxBytes {
			break
		}
		size += len(msg)
		dst = append(dst, q.pop())
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
