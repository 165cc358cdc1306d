package redissync

import "time"

// SetIdleTimeout shortens how long a subscription waits in silence before
// it pings, for subscriptions made until the returned undo is called.
func SetIdleTimeout(d time.Duration) (restore func()) {
	old := idleTimeout
	idleTimeout = d
	return func() { idleTimeout = old }
}
