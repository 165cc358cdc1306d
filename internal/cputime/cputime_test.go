package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessCountsWork: CPU time grows by about the time spent computing,
// and not by time spent asleep.
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
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
	}
	worked, _ := Process()
	if worked-slept < 20*time.Millisecond {
		t.Fatalf("50 ms of computing counted %v", worked-slept)
	}
	if slept-before > 40*time.Millisecond {
		t.Fatalf("50 ms asleep counted %v", slept-before)
	}
}
