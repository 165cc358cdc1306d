//go:build amd64 && !purego

package serializer

import "unsafe"

// plainRun returns the index of the first byte of s at or after i that is
// not plainJSON, or len(s): sixteen bytes at a time in assembly
// (plainrun_amd64.s), the last few a word at a time. Encoding a 256-byte
// record took a quarter less time (its 200-byte title was most of it).
// The decoder's stringRun stays in Go: it scans from a string's start to
// the end of the message, most strings are short names, and checking for
// them first cost what the assembly saved on the long ones.
func plainRun(s string, i int) int {
	if n := len(s) - i; n >= 16 {
		i += plainRunBlocks(unsafe.StringData(s[i:]), n)
	}
	return plainRunWords(s, i)
}

// plainRunBlocks returns the index of the first byte of p[:n] that is not
// plainJSON or, if there is none in its whole sixteen-byte blocks, where
// they end.
//
//go:noescape
func plainRunBlocks(p *byte, n int) int
