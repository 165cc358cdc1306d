package backoff

import (
	"context"
	"testing"
	"time"
)

func TestBackoffGrowsWithinBounds(t *testing.T) {
	b := Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	prevCap := time.Duration(0)
	for i := range 10 {
		d := b.Next()
		upper := min(10*time.Millisecond<<i, 80*time.Millisecond)
		if d < upper/2 || d > upper {
			t.Fatalf("attempt %d: %v not in [%v, %v]", i, d, upper/2, upper)
		}
		if upper < prevCap {
			t.Fatal("cap shrank")
		}
		prevCap = upper
	}
	b.Reset()
	if d := b.Next(); d > 10*time.Millisecond {
		t.Fatalf("after Reset: %v", d)
	}
}

func TestSleepStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep on a canceled context: %v", err)
	}
}
