//go:build unix

// Package cputime reads the CPU time the process has used, for benchmarks
// that report it per event beside the rate: where the broker and the
// benchmark share the cores, the CPU per event is what decides the rate.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time, user and system, the process has used so far;
// ok is false where the platform does not tell.
func Process() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
