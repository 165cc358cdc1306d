//go:build !linux

package main

import "time"

// sleeper is time.Sleep where timerfd is not at hand; see sleep_linux.go for
// why the pacer wants better.
type sleeper struct{}

func newSleeper() *sleeper { return nil }

func (*sleeper) sleep(d time.Duration) { time.Sleep(d) }

func (*sleeper) close() {}
