// Package loop runs an adapter's background goroutine (a reader, a
// supervisor) and stops it, the idiom each adapter with such a goroutine
// needs: a context to end it and a way to wait until it has.
package loop

import "context"

// Loop is a goroutine running under a context that Cancel ends. A nil Loop
// is one that was never started: its methods do nothing.
type Loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Go runs fn in a new goroutine with a context that Cancel ends.
func Go(fn func(ctx context.Context)) *Loop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		fn(ctx)
	}()
	return l
}

// Cancel ends the loop's context without waiting.
func (l *Loop) Cancel() {
	if l != nil {
		l.cancel()
	}
}

// Wait waits until the loop's function has returned.
func (l *Loop) Wait() {
	if l != nil {
		<-l.done
	}
}

// Stop cancels the loop and waits for it.
func (l *Loop) Stop() {
	l.Cancel()
	l.Wait()
}
