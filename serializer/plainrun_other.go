//go:build !amd64 || purego

package serializer

// plainRun returns the index of the first byte of s at or after i that is
// not plainJSON, or len(s).
func plainRun(s string, i int) int { return plainRunWords(s, i) }

// runBlocks is the assembly's stand-in: it goes nowhere, and the callers
// scan on a word at a time.
func runBlocks(p *byte, n int, html bool) int { return 0 }
