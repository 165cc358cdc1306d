package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessCountsWork: CPU time grows while the process computes (within
// a generous deadline: a loaded machine may give it little of each second),
// and hardly at all while it sleeps.
func TestProcessCountsWork(t *testing.T) {
	before, ok := Process()
	if !ok {
		if runtime.GOOS == "linux" || runtime.GOOS == "darwin" {
			t.Fatal("no CPU time on a Unix system")
		}
		t.Skip("the platform does not tell")
	}
	time.Sleep(50 * time.Millisecond)
	slept, _ := Process()
	if slept-before > 40*time.Millisecond {
		t.Fatalf("50 ms asleep counted %v", slept-before)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		now, _ := Process()
		if now-slept >= 20*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s of computing counted %v", now-slept)
		}
	}
}
