//go:build !amd64 || purego

package serializer

// plainRun returns the index of the first byte of s at or after i that is
// not plainJSON, or len(s).
func plainRun(s string, i int) int { return plainRunWords(s, i) }
