//go:build !unix

// Package cputime reads the CPU time the process has used, for benchmarks
// that report it per event beside the rate: where the broker and the
// benchmark share the cores, the CPU per event is what decides the rate.
package cputime

import "time"

// Process is the CPU time the process has used so far; ok is false where
// the platform does not tell, as here.
func Process() (d time.Duration, ok bool) { return 0, false }
