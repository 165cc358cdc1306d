package brokertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSentinel is a Redis master with one replica, watched by three
// sentinels, all of the test's own: a killed master is replaced within a
// few seconds (down-after 1 s).
type RedisSentinel struct {
	Master, Replica int   // the ports of the first master and replica
	Sentinels       []int // the sentinels' ports
	procs           map[int]*os.Process
}

// SentinelMaster is the name the sentinels monitor.
const SentinelMaster = "mymaster"

// StartRedisSentinel starts the master, its replica and three sentinels,
// and returns once the sentinels know the replica and each other.
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	s := &RedisSentinel{procs: make(map[int]*os.Process)}
	s.Master, s.Replica = FreePort(t), FreePort(t)
	s.procs[s.Master] = StartRedis(t, s.Master, "--port", fmt.Sprint(s.Master))
	s.procs[s.Replica] = StartRedis(t, s.Replica, "--port", fmt.Sprint(s.Replica), "--replicaof", "127.0.0.1", fmt.Sprint(s.Master))
	for range 3 {
		port := FreePort(t)
		conf := filepath.Join(t.TempDir(), "sentinel.conf") // the sentinel rewrites it
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %[2]s 1000\nsentinel failover-timeout %[2]s 5000\nsentinel parallel-syncs %[2]s 1\n",
			port, SentinelMaster, s.Master)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		s.procs[port] = start(t, "redis-server", port, conf, "--sentinel")
		s.Sentinels = append(s.Sentinels, port)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, port := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
		for {
			replicas, _ := sc.Replicas(ctx, SentinelMaster).Result()
			sentinels, _ := sc.Sentinels(ctx, SentinelMaster).Result()
			if len(replicas) == 1 && len(sentinels) == 2 && !strings.Contains(fmt.Sprint(replicas), "s_down") {
				break
			}
			if ctx.Err() != nil {
				sc.Close()
				t.Fatalf("sentinel %d: replicas %v, sentinels %d", port, replicas, len(sentinels))
			}
			time.Sleep(100 * time.Millisecond)
		}
		sc.Close()
	}
	return s
}

// URI returns a redis+sentinel URI naming every sentinel.
func (s *RedisSentinel) URI() string {
	u := fmt.Sprintf("redis+sentinel://127.0.0.1:%d?master_name=%s", s.Sentinels[0], SentinelMaster)
	for _, p := range s.Sentinels[1:] {
		u += fmt.Sprintf("&addr=127.0.0.1:%d", p)
	}
	return u
}

// KillMaster kills the first master with SIGKILL and returns a channel
// that yields how long the sentinels took to name the replica as the
// master (nothing after 30 s).
func (s *RedisSentinel) KillMaster(t testing.TB) <-chan time.Duration {
	t.Helper()
	_ = s.procs[s.Master].Signal(syscall.SIGKILL)
	start := time.Now()
	promoted := make(chan time.Duration, 1)
	go func() {
		sc := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.Sentinels[0])})
		defer sc.Close()
		want := fmt.Sprint(s.Replica)
		for time.Since(start) < 30*time.Second {
			addr, err := sc.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
			if err == nil && len(addr) == 2 && addr[1] == want {
				promoted <- time.Since(start)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return promoted
}
