package loop

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStopCancelsAndWaits(t *testing.T) {
	ended := false
	l := Go(func(ctx context.Context) {
		<-ctx.Done()
		ended = true
	})
	l.Stop()
	if !ended { // Stop returned before fn did
		t.Fatal("Stop returned while the loop was running")
	}
}

func TestNilLoop(t *testing.T) {
	var l *Loop
	l.Stop() // must not block or panic
}
