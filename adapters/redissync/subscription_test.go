package redissync

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// The reader must find every message whatever the reads' sizes: Redis's
// writes and the kernel split the stream anywhere. Payloads over the limit
// are skipped and counted, those the echo filter reports (here: starting
// with 'e') are dropped, and the stream goes on after them.
func TestSubscriptionReadsSplitStream(t *testing.T) {
	const limit = 500
	var stream []byte
	var want [][]byte
	over, echoes := 0, 0
	isEcho := func(b []byte) bool { return len(b) > 0 && b[0] == 'e' }
	for i := range 2000 {
		payload := bytes.Repeat([]byte{byte('a' + i%26)}, i%700)
		payload = append(payload, fmt.Sprintf("\r\n#%d", i)...) // CRLF inside a payload is data
		switch {
		case len(payload) > limit:
			over++
		case isEcho(payload):
			echoes++
		default:
			want = append(want, payload)
		}
		stream = appendCommand(stream, "message", "some-channel", string(payload))
		if i%100 == 0 {
			stream = append(stream, "*2\r\n$4\r\npong\r\n$0\r\n\r\n"...)
		}
	}
	for name, r := range map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"halves":   iotest.HalfReader,
	} {
		t.Run(name, func(t *testing.T) {
			var got [][]byte
			dropped := 0
			a := New(nil, "k")
			s := &subscription{deliver: func(b []byte) { got = append(got, b) }, a: a, limit: limit,
				isEcho: func(b []byte) bool {
					if isEcho(b) {
						dropped++
						return true
					}
					return false
				}}
			err := s.read(bufio.NewReaderSize(r(bytes.NewReader(stream)), 64<<10))
			if err != io.EOF {
				t.Fatalf("read ended with %v, want EOF", err)
			}
			if n := a.State().Oversized; n != uint64(over) {
				t.Fatalf("counted %d payloads over the limit, want %d", n, over)
			}
			if dropped != echoes || echoes == 0 {
				t.Fatalf("dropped %d echoes, want %d", dropped, echoes)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d messages, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("message %d: got %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
}

// A stream the reader does not understand ends the read with an error that
// says so (the subscription then reconnects); it never panics, delivers,
// nor allocates what a length claims.
func TestSubscriptionRefusesMalformedStream(t *testing.T) {
	for _, stream := range []string{
		"-ERR wrong\r\n",
		"+OK\r\n",
		"*x\r\n",
		"*0\r\n",
		"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$99999999999\r\n",
		"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$-5\r\n",
		"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nabcXY",
		"*3\r\n$7\r\nmessageXY\r\n",
		"*3\n",
		"*3\r\n#7\r\n",
	} {
		delivered := 0
		s := &subscription{deliver: func([]byte) { delivered++ }, limit: maxBulk}
		err := s.read(bufio.NewReader(bytes.NewReader([]byte(stream))))
		if err == nil || errors.Is(err, io.EOF) || delivered != 0 {
			t.Errorf("%q: read ended with %v after %d deliveries, want an error naming the fault", stream, err, delivered)
		}
	}
}
