package registry

import "sync"

// ChangeKind says what happened to a member.
type ChangeKind string

// Kinds of Change.
const (
	Online  ChangeKind = "online"
	Offline ChangeKind = "offline"
	Changed ChangeKind = "changed"
)

// Reasons an Offline change gives.
const (
	ReasonLeft    = "left"    // the member said goodbye
	ReasonExpired = "expired" // nothing heard from it for TTL
)

// Change is one change of the membership.
type Change struct {
	Kind   ChangeKind `json:"event"`
	Reason string     `json:"reason,omitempty"` // for Offline: ReasonLeft or ReasonExpired
	Member Member     `json:"member"`
}

// Watch calls fn for every change from now on, in order, on one goroutine
// of the registry's: a slow fn delays the changes after it, never the
// registry itself.
func (r *Registry) Watch(fn func(Change)) (off func()) { return r.watchers.add(fn) }

// notify queues a change for the watchers. The caller holds r.mu, so
// changes are queued in the order they happen.
func (r *Registry) notify(c Change) { r.watchers.push(c) }

// watchers queues changes and calls the watch functions from one goroutine.
type watchers struct {
	mu      sync.Mutex
	fns     map[int]func(Change)
	next    int
	queue   []Change
	wake    chan struct{}
	stopped chan struct{}
	done    chan struct{}
}

func (w *watchers) start() {
	w.fns = make(map[int]func(Change))
	w.wake, w.stopped, w.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go w.run()
}

func (w *watchers) add(fn func(Change)) (off func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	id := w.next
	w.next++
	w.fns[id] = fn
	return func() {
		w.mu.Lock()
		delete(w.fns, id)
		w.mu.Unlock()
	}
}

func (w *watchers) push(c Change) {
	w.mu.Lock()
	w.queue = append(w.queue, c)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watchers) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		w.mu.Unlock()
		for _, c := range batch {
			w.mu.Lock()
			fns := make([]func(Change), 0, len(w.fns))
			for _, fn := range w.fns {
				fns = append(fns, fn)
			}
			w.mu.Unlock()
			for _, fn := range fns {
				fn(c)
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-w.wake:
		case <-w.stopped:
			return
		}
	}
}

// stop delivers what is queued, then ends the goroutine.
func (w *watchers) stop() {
	close(w.stopped)
	<-w.done
}
