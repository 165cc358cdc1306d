package brokertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartRedis runs a redis-server of the test's own, for a test that stops
// or restarts it (the shared one serves the tests that disturb nobody),
// with no persistence, a data directory of its own and args (which must
// open port: "--port", "N", or TLS options), until the test ends. It
// returns once port accepts connections; a missing redis-server skips the
// test, or fails it when CI=true.
func StartRedis(t testing.TB, port int, args ...string) *os.Process {
	t.Helper()
	all := append([]string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}, args...)
	return start(t, "redis-server", port, all...)
}

// StartNATS runs a nats-server of the test's own (the Debian binary) on a
// free port with args, until the test ends, and returns its URL; a missing
// nats-server skips the test, or fails it when CI=true.
func StartNATS(t testing.TB, args ...string) string {
	t.Helper()
	port := FreePort(t)
	start(t, "nats-server", port, append([]string{"-a", "127.0.0.1", "-p", fmt.Sprint(port)}, args...)...)
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

// start runs the server binary name with args until the test ends, and
// returns once port accepts connections.
func start(t testing.TB, name string, port int, args ...string) *os.Process {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, err)
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return cmd.Process
		}
	}
	t.Fatalf("%s did not start", name)
	return nil
}
