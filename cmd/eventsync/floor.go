package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"
)

// floor measures what this machine itself does for latency: timestamps sent
// over one TCP loopback connection between two goroutines of this process,
// paced as bench --rate paces events. A broker adds two such hops and its
// own process, so bench's p99 cannot go below it; on the 2-core VM of
// BENCHMARKS.md its p99 at 10,000/s went from 0.14 ms at quiet moments to
// several ms at busy ones, which is why latency figures there are read
// against figures taken in the same minutes.
func floor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 30_000, "messages to send")
	rate := fs.Float64("rate", 10_000, "messages/s, evenly spaced")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *rate <= 0 {
		return errors.New("--n and --rate must be positive")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	defer ln.Close()
	m := newMeter(*n, *rate, 0)
	defer m.sleeper.close()
	read := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			read <- err
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		var b [8]byte
		for range *n {
			if _, err := io.ReadFull(r, b[:]); err != nil {
				read <- err
				return
			}
			m.arrive(int64(binary.BigEndian.Uint64(b[:])))
		}
		read <- nil
	}()
	conn, err := new(net.Dialer).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	defer conn.Close()
	m.begin()
	var b [8]byte
	for i := range *n {
		m.pace(i)
		binary.BigEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
		if _, err := conn.Write(b[:]); err != nil {
			return fmt.Errorf("floor: %w", err)
		}
	}
	if err := <-read; err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	res := m.result("floor")
	if *asJSON {
		out, _ := json.Marshal(res)
		fmt.Fprintf(stdout, "%s\n", out)
	} else {
		fmt.Fprintf(stdout, "floor: %d messages at %.0f/s: p50 %.0fµs, p99 %.0fµs\n", res.Events, res.EventsPerSec, res.P50us, res.P99us)
	}
	return nil
}
