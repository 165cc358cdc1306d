//go:build !unix

package synctest

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
