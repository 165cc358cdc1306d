package amqpsync

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestCorkedConn: while corked, writes reach the socket only at uncork, in
// one write and in order; uncorked, they pass straight through; a failed
// uncork reports the error and closes the socket so that the AMQP reader
// fails and the adapter reconnects.
func TestCorkedConn(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	c := &corkedConn{Conn: client}

	c.cork()
	for _, p := range []string{"method;", "header;", "body;"} {
		if n, err := c.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("corked write %q: %d, %v", p, n, err)
		}
	}
	// net.Pipe is synchronous: a write would block until read, so nothing
	// has been written if this read times out.
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var timeout net.Error
	if n, err := server.Read(make([]byte, 64)); !errors.As(err, &timeout) || !timeout.Timeout() || n != 0 {
		t.Fatalf("corked writes reached the socket: %d bytes, %v", n, err)
	}
	server.SetReadDeadline(time.Time{})

	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 64)
		n, _ := server.Read(buf)
		got <- buf[:n]
	}()
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "method;header;body;" {
		t.Fatalf("one read after uncork got %q, want the batch whole", b)
	}

	go func() {
		buf := make([]byte, 64)
		n, _ := io.ReadFull(server, buf[:5])
		got <- buf[:n]
	}()
	if _, err := c.Write([]byte("plain")); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, []byte("plain")) {
		t.Fatalf("uncorked write got %q", b)
	}

	c.cork()
	c.Write([]byte("lost"))
	server.Close()
	if err := c.uncork(); err == nil {
		t.Fatal("uncork to a closed peer reported no error")
	}
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("socket not closed after a failed uncork: read gave %v", err)
	}
}
