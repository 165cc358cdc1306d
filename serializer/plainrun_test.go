package serializer

import (
	"math/rand/v2"
	"testing"
)

// TestPlainRunMatchesTable: sixteen and eight bytes at a time find the
// same first non-plain byte as the table, for every byte value at every
// offset.
func TestPlainRunMatchesTable(t *testing.T) {
	slow := func(s []byte, i int) int {
		for i < len(s) && plainJSON[s[i]] {
			i++
		}
		return i
	}
	checkRun(t, func(b []byte, i int) int { return plainRun(string(b), i) }, slow)
	checkRun(t, func(b []byte, i int) int { return plainRunWords(string(b), i) }, slow)
}

// TestStringRunMatchesLoop: the same for the decoder's scan.
func TestStringRunMatchesLoop(t *testing.T) {
	checkRun(t, stringRun, func(s []byte, i int) int {
		for i < len(s) && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\' {
			i++
		}
		return i
	})
}

// checkRun compares a fast scan with its byte loop: every byte value at
// every offset of printable ASCII (which has the specials too), scanned
// from each of the first seventeen offsets, so that each lands in whole
// sixteen-byte blocks, in words and in the bytes after them.
func checkRun(t *testing.T, fast, slow func([]byte, int) int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 72)
	for c := range 256 {
		for at := range len(buf) {
			for j := range buf {
				buf[j] = byte(0x20 + r.IntN(0x5f))
			}
			buf[at] = byte(c)
			for start := range 17 {
				if got, want := fast(buf, start), slow(buf, start); got != want {
					t.Fatalf("byte %#x at %d, from %d in %q: got %d, want %d", c, at, start, buf, got, want)
				}
			}
		}
	}
}
