// Package inflight holds senders back while too many events are on their
// way: the benchmarks' bound on what is emitted and not yet arrived.
// Emitting never blocks, so a run at full speed without it measures a
// backlog growing in memory (fresh pages, span set-up, long GC marks)
// rather than the pipeline.
package inflight

import (
	"sync"
	"sync/atomic"
)

// Window lets at most a limit of events be in flight.
type Window struct {
	limit     uint64
	sent, got atomic.Uint64
	mu        sync.Mutex
	moved     *sync.Cond // broadcast every 1,024 arrivals and on Stop, under mu
	stopped   bool
}

// New returns a window of limit events (at least 2,048).
func New(limit uint64) *Window {
	w := &Window{limit: max(limit, 2048)}
	w.moved = sync.NewCond(&w.mu)
	return w
}

// Admit waits until no more than the limit are in flight, or the window is
// stopped, then counts k more as sent. Room comes: a waiter sees more than
// the limit (at least 2,048) on their way, every arrival is counted, and
// every 1,024th wakes the waiters.
func (w *Window) Admit(k int) {
	if w.sent.Load()-w.got.Load() > w.limit {
		w.mu.Lock()
		for !w.stopped && w.sent.Load()-w.got.Load() > w.limit {
			w.moved.Wait()
		}
		w.mu.Unlock()
	}
	w.sent.Add(uint64(k))
}

// Arrived counts one arrival and returns the count.
func (w *Window) Arrived() uint64 {
	n := w.got.Add(1)
	if n%1024 == 0 {
		w.mu.Lock()
		w.moved.Broadcast()
		w.mu.Unlock()
	}
	return n
}

// Got returns the arrivals counted.
func (w *Window) Got() uint64 { return w.got.Load() }

// Stop lets every sender through from now on: the run is over, and events
// that were lost would otherwise hold them back for good.
func (w *Window) Stop() {
	w.mu.Lock()
	w.stopped = true
	w.moved.Broadcast()
	w.mu.Unlock()
}
