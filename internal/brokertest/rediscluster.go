package brokertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of the test's own: masters with a
// replica each, on free ports, with a node timeout of a second so that a
// killed master fails over within a few seconds.
type RedisCluster struct {
	Ports []int // masters first, then their replicas, as created
	procs map[int]*os.Process
}

// freeClusterPort returns a free port whose cluster bus port (+10000) is
// free too.
func freeClusterPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		p := FreePort(t)
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000)); err == nil {
			ln.Close()
			return p
		}
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}

// StartRedisCluster creates a cluster of masters masters, each with one
// replica, and returns once every slot is served and every replica is in
// sync. A missing redis-server or redis-cli skips the test, or fails it
// when CI=true.
func StartRedisCluster(t testing.TB, masters int) *RedisCluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		Missing(t, "redis-cli", err)
	}
	c := &RedisCluster{procs: make(map[int]*os.Process)}
	var addrs []string
	for range 2 * masters {
		port := freeClusterPort(t)
		dir := t.TempDir()
		c.procs[port] = StartRedis(t, port, "--port", fmt.Sprint(port), "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "1000",
			"--cluster-replica-validity-factor", "0", "--dir", dir)
		c.Ports = append(c.Ports, port)
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, append(append([]string{"--cluster", "create"}, addrs...),
		"--cluster-replicas", "1", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitHealthy(t, ctx)
	return c
}

// waitHealthy waits until every live node reports the cluster ok and every
// replica's link to its master is up.
func (c *RedisCluster) waitHealthy(t testing.TB, ctx context.Context) {
	t.Helper()
	for _, port := range c.Ports {
		if c.procs[port] == nil {
			continue
		}
		node := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
		for {
			info, _ := node.ClusterInfo(ctx).Result()
			repl, _ := node.Info(ctx, "replication").Result()
			if strings.Contains(info, "cluster_state:ok") && (strings.Contains(repl, "role:master") || strings.Contains(repl, "master_link_status:up")) {
				break
			}
			if ctx.Err() != nil {
				node.Close()
				t.Fatalf("cluster node %d not healthy: %s\n%s", port, info, repl)
			}
			time.Sleep(50 * time.Millisecond)
		}
		node.Close()
	}
}

// URI returns a redis+cluster URI that names the node at port only (the
// client discovers the others).
func (c *RedisCluster) URI(port int) string {
	return fmt.Sprintf("redis+cluster://127.0.0.1:%d", port)
}

// MasterOf returns the port of the master that serves key's slot now.
func (c *RedisCluster) MasterOf(t testing.TB, key string) int {
	t.Helper()
	p, err := c.masterOf(key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (c *RedisCluster) masterOf(key string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, port := range c.Ports {
		if c.procs[port] == nil {
			continue
		}
		node := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
		slot, err := node.ClusterKeySlot(ctx, key).Result()
		shards, err2 := node.ClusterSlots(ctx).Result()
		node.Close()
		if err != nil || err2 != nil {
			continue
		}
		for _, s := range shards {
			if int64(s.Start) <= slot && slot <= int64(s.End) {
				var p int
				fmt.Sscanf(s.Nodes[0].Addr[strings.LastIndex(s.Nodes[0].Addr, ":")+1:], "%d", &p)
				return p, nil
			}
		}
	}
	return 0, fmt.Errorf("no live node knows the master of %q", key)
}

// Kill kills the node at port with SIGKILL, as a crash would.
func (c *RedisCluster) Kill(t testing.TB, port int) {
	t.Helper()
	p := c.procs[port]
	if p == nil {
		t.Fatalf("no live node at %d", port)
	}
	_ = p.Signal(syscall.SIGKILL)
	c.procs[port] = nil
}

// KillMaster kills the master of key's slot and returns a channel that
// yields how long the cluster took to name another (nothing after 30 s).
func (c *RedisCluster) KillMaster(t testing.TB, key string) <-chan time.Duration {
	t.Helper()
	old := c.MasterOf(t, key)
	c.Kill(t, old)
	start := time.Now()
	moved := make(chan time.Duration, 1)
	go func() {
		for time.Since(start) < 30*time.Second {
			if p, err := c.masterOf(key); err == nil && p != old {
				moved <- time.Since(start)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return moved
}
