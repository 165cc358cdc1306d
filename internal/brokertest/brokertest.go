// Package brokertest holds helpers for tests that need a real broker: where
// to find it, and the rule that an unreachable broker skips a test locally
// and fails it when CI=true.
package brokertest

import (
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// URL returns the broker URL from the environment variable env, or def.
func URL(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// Require checks that the broker at rawURL accepts TCP connections. If not,
// it skips the test, or fails it when CI=true, naming what is missing.
func Require(t testing.TB, name, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("%s URL: %v", name, err)
	}
	host := u.Host
	if i := indexComma(host); i >= 0 {
		host = host[:i]
	}
	conn, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err == nil {
		conn.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s unreachable at %s (CI=true, so this fails): %v", name, host, err)
	}
	t.Skipf("%s unreachable at %s: %v (set CI=true to fail instead)", name, host, err)
}

func indexComma(s string) int {
	for i := range s {
		if s[i] == ',' {
			return i
		}
	}
	return -1
}
