package brokertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RabbitCluster is a RabbitMQ cluster of the test's own: nodes with their
// own names, ports and data directories, never the shared node. Each node
// boots in about 10 s.
type RabbitCluster struct {
	Ports []int    // AMQP ports, by node
	Names []string // Erlang node names
	cmds  []*exec.Cmd
	pids  []string // the files where the nodes write their VM's process ID
}

// StartRabbitCluster starts n nodes and joins every other node to the
// first. A missing rabbitmq-server or rabbitmqctl skips the test, or fails
// it when CI=true.
func StartRabbitCluster(t testing.TB, n int) *RabbitCluster {
	t.Helper()
	server, err := exec.LookPath("rabbitmq-server")
	if err != nil {
		Missing(t, "rabbitmq-server", err)
	}
	ctl, err := exec.LookPath("rabbitmqctl")
	if err != nil {
		Missing(t, "rabbitmqctl", err)
	}
	c := &RabbitCluster{}
	tag := fmt.Sprintf("es%d", rand.IntN(1_000_000))
	for i := range n {
		port, dist := FreePort(t), FreePort(t)
		name := fmt.Sprintf("%s-%d@localhost", tag, i+1)
		// Not t.TempDir: the node drops to the rabbitmq user, which must
		// reach its directory.
		dir, err := os.MkdirTemp("", "eventsync-rabbit-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{
			"enabled_plugins": "[].\n",
			"rabbitmq.conf":   fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\nloopback_users = none\n", port),
		}
		for f, body := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		chownToRabbit(dir)
		cmd := exec.Command(server)
		cmd.Env = append(os.Environ(), "RABBITMQ_NODENAME="+name, "RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
			"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"), "RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
			"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
			"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"), "RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq.conf"))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a kill reaches the Erlang VM too
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pidFile := filepath.Join(dir, "pid")
		t.Cleanup(func() { killNode(cmd, pidFile); cmd.Wait() })
		c.Ports, c.Names, c.cmds, c.pids = append(c.Ports, port), append(c.Names, name), append(c.cmds, cmd), append(c.pids, pidFile)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run := func(args ...string) {
		if out, err := exec.CommandContext(ctx, ctl, args...).CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl %v: %v\n%s", args, err, out)
		}
	}
	for i, name := range c.Names {
		waitPort(t, ctx, c.Ports[i], name)
		run("-n", name, "await_startup", "--timeout", "80")
	}
	for _, name := range c.Names[1:] {
		run("-n", name, "stop_app")
		run("-n", name, "join_cluster", c.Names[0])
		run("-n", name, "start_app")
		run("-n", name, "await_startup", "--timeout", "60")
	}
	return c
}

// chownToRabbit gives dir to the rabbitmq user, when there is one and the
// test runs as root (the server then drops to that user).
func chownToRabbit(dir string) {
	u, err := user.Lookup("rabbitmq")
	if err != nil || os.Getuid() != 0 {
		return
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, uid, gid) })
}

// URI returns an amqp URI that names every node, node first.
func (c *RabbitCluster) URI(first int) string {
	u := "amqp://guest:guest@"
	for i := range c.Ports {
		if i > 0 {
			u += ","
		}
		u += fmt.Sprintf("127.0.0.1:%d", c.Ports[(first+i)%len(c.Ports)])
	}
	return u + "/"
}

// Kill kills node i (the script and its Erlang VM) with SIGKILL, as a
// crash would.
func (c *RabbitCluster) Kill(i int) { killNode(c.cmds[i], c.pids[i]) }

// killNode kills the script's process group and the Erlang VM whose process
// ID the node wrote to pidFile: the script runs the VM as the rabbitmq
// user, outside its group.
func killNode(cmd *exec.Cmd, pidFile string) {
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// waitPort waits until port accepts connections.
func waitPort(t testing.TB, ctx context.Context, port int, what string) {
	t.Helper()
	for {
		if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			conn.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not open port %d", what, port)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
