//go:build linux

package main

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sleeper paces bench's sender. time.Sleep cannot hold a steady 10,000
// events/s: when the process is otherwise idle the runtime waits for timers in
// epoll_wait, whose timeout is in milliseconds, so every wait under a
// millisecond lasts one (golang/go#44343), and the pacer sent bursts of about
// 12 events every 1.2 ms. A timerfd read through the runtime's poller wakes
// on time and parks the goroutine as time.Sleep does, so the goroutine it
// just woke (the Sync's publisher) runs at once on the freed P; nanosleep
// kept that P in a system call for tens of microseconds.
type sleeper struct {
	fd   int
	file *os.File
	buf  [8]byte
}

// newSleeper returns a sleeper, or nil where timerfd is refused (then sleep
// falls back to time.Sleep).
func newSleeper() *sleeper {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	return &sleeper{fd: fd, file: os.NewFile(uintptr(fd), "timerfd")}
}

func (s *sleeper) sleep(d time.Duration) {
	if s == nil || d <= 0 {
		time.Sleep(d)
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if unix.TimerfdSettime(s.fd, 0, &spec, nil) != nil {
		time.Sleep(d)
		return
	}
	_, _ = s.file.Read(s.buf[:]) // the expiry count; only the wake-up matters
}

func (s *sleeper) close() {
	if s != nil {
		s.file.Close()
	}
}
