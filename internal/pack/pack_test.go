package pack

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

type sent struct {
	body   []byte
	packed bool
}

// packAll runs Send and keeps a copy of each body (buf is reused).
func packAll(t *testing.T, msgs [][]byte) []sent {
	t.Helper()
	var out []sent
	if _, err := Send(nil, msgs, func(body []byte, packed bool) error {
		out = append(out, sent{bytes.Clone(body), packed})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPackRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sizes := range [][]int{
		{0},
		{300},
		{300, 0, 1, 127, 128, 16383, 16384},
		{Limit + 1},               // alone, plain
		{10, Limit + 1, 20, 30},   // a plain message between two packs... and a lone one
		{Limit / 2, Limit / 2, 5}, // the second does not fit the first's pack
	} {
		t.Run(fmt.Sprint(len(sizes), sizes[0]), func(t *testing.T) {
			var msgs [][]byte
			for _, n := range sizes {
				m := make([]byte, n)
				for i := range m {
					m[i] = byte(rng.Uint32())
				}
				msgs = append(msgs, m)
			}
			var got [][]byte
			for _, s := range packAll(t, msgs) {
				if !s.packed {
					got = append(got, s.body)
					continue
				}
				if len(s.body) > Limit {
					t.Fatalf("pack of %d bytes, over the %d limit", len(s.body), Limit)
				}
				n := 0
				if err := Unpack(s.body, func(m []byte) { got = append(got, m); n++ }); err != nil {
					t.Fatal(err)
				}
				if n < 2 {
					t.Fatalf("a pack of %d messages: a lone one goes plain", n)
				}
			}
			if len(got) != len(msgs) {
				t.Fatalf("%d messages out of %d", len(got), len(msgs))
			}
			for i := range msgs {
				if !bytes.Equal(got[i], msgs[i]) {
					t.Fatalf("message %d differs (len %d, want %d)", i, len(got[i]), len(msgs[i]))
				}
			}
		})
	}
}

func TestPackSendFailureStops(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	msgs := [][]byte{make([]byte, Limit+1), []byte("a"), []byte("b")}
	_, err := Send(nil, msgs, func([]byte, bool) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err %v after %d sends, want boom after 1", err, calls)
	}
}

func TestUnpackMalformed(t *testing.T) {
	good := []byte{3, 'a', 'b', 'c'}
	for name, body := range map[string][]byte{
		"length past the end": append(bytes.Clone(good), 5, 'x'),
		"truncated varint":    append(bytes.Clone(good), 0x80),
		"huge length":         append(bytes.Clone(good), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	} {
		t.Run(name, func(t *testing.T) {
			var got [][]byte
			err := Unpack(body, func(m []byte) { got = append(got, m) })
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v", err)
			}
			if len(got) != 1 || string(got[0]) != "abc" {
				t.Fatalf("messages before the fault: %q", got)
			}
		})
	}
	// A delivered message's capacity ends with it: appending cannot write
	// into the next one.
	if err := Unpack([]byte{1, 'a', 1, 'b'}, func(m []byte) {
		if cap(m) != 1 {
			t.Fatalf("cap %d", cap(m))
		}
	}); err != nil {
		t.Fatal(err)
	}
}

func FuzzUnpack(f *testing.F) {
	f.Add([]byte{3, 'a', 'b', 'c', 0})
	f.Add([]byte{0x80, 0x80})
	f.Fuzz(func(t *testing.T, body []byte) {
		total := 0
		err := Unpack(body, func(m []byte) { total += len(m) })
		if err == nil && total > len(body) {
			t.Fatalf("%d bytes of messages from a %d-byte body", total, len(body))
		}
	})
}
