// Package brokertest holds helpers for tests that need a real broker: where
// to find it, and the rule that an unreachable broker skips a test locally
// and fails it when CI=true.
package brokertest

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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

// Missing skips the test, or fails it when CI=true, because what names is
// not available.
func Missing(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not available (CI=true, so this fails): %v", what, err)
	}
	t.Skipf("%s not available: %v (set CI=true to fail instead)", what, err)
}

// NodeDir returns the nodetest directory (with node_modules installed by
// `npm ci`) found from the test's working directory upwards, and the node
// binary, or skips/fails the test as Missing does.
func NodeDir(t testing.TB) (dir, node string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		Missing(t, "node", err)
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "nodetest")
		if _, err := os.Stat(filepath.Join(candidate, "node_modules")); err == nil {
			return candidate, node
		}
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil || filepath.Dir(d) == d {
			Missing(t, "nodetest/node_modules (run: cd nodetest && npm ci)", os.ErrNotExist)
			return "", ""
		}
	}
}
