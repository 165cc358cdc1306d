package mongotest

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestBinary builds (or finds) FerretDB, so that CI pays the build once,
// early, and reports a failed build plainly.
func TestBinary(t *testing.T) {
	if _, err := Binary(); err != nil {
		t.Fatal(err)
	}
}
