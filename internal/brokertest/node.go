package brokertest

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Node is a running script of nodetest/ that speaks one JSON object per
// line: commands on its stdin, what it saw on its stdout.
type Node struct {
	stdin io.WriteCloser
	mu    sync.Mutex
	lines []map[string]any
	more  chan struct{}
}

// StartNode runs nodetest/<script> with args until the test ends. A line of
// stdout that is not JSON is kept as {"text": line}; stderr goes to the
// test log.
func StartNode(t testing.TB, script string, args ...string) *Node {
	t.Helper()
	dir, node := NodeDir(t)
	cmd := exec.Command(node, append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Dir = dir
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &Node{stdin: stdin, more: make(chan struct{}, 1)}
	var readers sync.WaitGroup
	readers.Go(func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				line = map[string]any{"text": sc.Text()}
			}
			n.mu.Lock()
			n.lines = append(n.lines, line)
			n.mu.Unlock()
			select {
			case n.more <- struct{}{}:
			default:
			}
		}
	})
	readers.Go(func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Logf("node %s: %s", script, sc.Text())
		}
	})
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		readers.Wait()
	})
	return n
}

// Send writes cmd as a line of JSON to the script's stdin.
func (n *Node) Send(t testing.TB, cmd map[string]any) {
	t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := n.stdin.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
}

// Wait returns the index and content of the first line matching pred,
// waiting up to 30 s for it. A line with "error" fails the test.
func (n *Node) Wait(t testing.TB, what string, pred func(map[string]any) bool) (int, map[string]any) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		n.mu.Lock()
		for i, l := range n.lines {
			if pred(l) {
				n.mu.Unlock()
				return i, l
			}
			if e, ok := l["error"]; ok && l["ref"] == nil {
				n.mu.Unlock()
				t.Fatalf("node script failed: %v", e)
			}
		}
		n.mu.Unlock()
		select {
		case <-n.more:
		case <-deadline.C:
			n.mu.Lock()
			defer n.mu.Unlock()
			t.Fatalf("node script: timed out waiting for %s; lines %v", what, n.lines)
		}
	}
}

// Find returns the index and content of the first line matching pred so
// far, or -1.
func (n *Node) Find(pred func(map[string]any) bool) (int, map[string]any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, l := range n.lines {
		if pred(l) {
			return i, l
		}
	}
	return -1, nil
}
