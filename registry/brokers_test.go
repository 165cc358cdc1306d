package registry_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	_ "github.com/eventsync/eventsync/adapters/all"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/mongotest"
	"github.com/eventsync/eventsync/registry"
)

func brokers(t *testing.T) map[string]string {
	urls := map[string]string{
		"redis": brokertest.URL("EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379"),
		"amqp":  brokertest.URL("EVENTSYNC_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
		"nats":  brokertest.URL("EVENTSYNC_NATS_URL", "nats://127.0.0.1:4222"),
	}
	for name, u := range urls {
		brokertest.Require(t, name, u)
	}
	return urls
}

// On each real broker: members converge, a graceful leave is seen at once,
// a member whose messages stop getting through expires.
func TestOnBrokers(t *testing.T) {
	for name, uri := range brokers(t) {
		t.Run(name, func(t *testing.T) { checkBroker(t, uri, true) })
	}
	t.Run("mongodb", func(t *testing.T) {
		srv := mongotest.Start(t)
		checkBroker(t, srv.URL()+"registry", false)
	})
}

// checkBroker joins two members and an observer on uri. With timing set,
// it reports what it measures for the docs.
func checkBroker(t *testing.T, uri string, timing bool) {
	key := adaptertest.UniqueKey("reg")
	o := registry.Options{URI: uri, Key: key, Interval: 300 * time.Millisecond}
	o.TTL = 3 * o.Interval
	obs := join(t, "", registry.Options{URI: uri, Key: key, Observe: true, Interval: o.Interval, TTL: o.TTL})
	c := watch(obs)
	a := join(t, "", with(o, "users", "a-"+key))
	link := &cut{}
	b, err := eventsync.Open(context.Background(), uri, registry.RegistryKey(key))
	if err != nil {
		t.Fatal(err)
	}
	link.Adapter = b
	ob := with(o, "todos", "b-"+key)
	ob.URI, ob.Adapter = "", link
	join(t, "", ob)
	c.waitFor(t, registry.Online, "a-"+key, 30*time.Second)
	c.waitFor(t, registry.Online, "b-"+key, 30*time.Second)
	waitMembers(t, obs, 2, 10*time.Second)

	start := time.Now()
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	left := c.waitFor(t, registry.Offline, "a-"+key, 2*time.Second)
	leftAfter := time.Since(start)

	start = time.Now()
	link.cut.Store(true)
	expired := c.waitFor(t, registry.Offline, "b-"+key, 2*(o.TTL+o.Interval))
	expiredAfter := time.Since(start)
	if left.Reason != registry.ReasonLeft || expired.Reason != registry.ReasonExpired {
		t.Fatalf("reasons %q and %q", left.Reason, expired.Reason)
	}
	if timing {
		t.Logf("left seen after %v; silent member expired after %v (TTL %v + interval %v = %v)",
			leftAfter.Round(time.Millisecond), expiredAfter.Round(time.Millisecond), o.TTL, o.Interval, o.TTL+o.Interval)
	}
}

// 200 members on Redis converge: each sees them all.
func TestTwoHundredOnRedis(t *testing.T) {
	o := registry.Options{URI: brokers(t)["redis"], Key: adaptertest.UniqueKey("reg200"), Interval: time.Minute}
	_, took := joinMany(t, o, 200, 60*time.Second)
	t.Logf("200 members on Redis converged in %v", took.Round(time.Millisecond))
}

// memberEnv runs this test binary as a registry member process (see
// TestMain): URI, key, instance, interval.
const memberEnv = "EVENTSYNC_REGISTRY_MEMBER"

// runMember is a member process: it joins, says "ready" on stdout, and
// leaves gracefully on SIGTERM.
func runMember(spec string) {
	parts := strings.Split(spec, "|")
	interval, _ := time.ParseDuration(parts[3])
	r, err := registry.Join(registry.Options{URI: parts[0], Key: parts[1], Instance: parts[2], App: "proc", Interval: interval})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-r.Ready()
	fmt.Println("ready")
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.Close(ctx)
}

func startMember(t *testing.T, uri, key, instance string, interval time.Duration) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memberEnv+"="+strings.Join([]string{uri, key, instance, interval.String()}, "|"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("member process: %q %v", buf, err)
	}
	return cmd
}

// kill -9 of a member process: every other member reports it offline
// (expired) within TTL plus one heartbeat; SIGTERM: offline (left) within a
// second.
func TestMemberProcessKilled(t *testing.T) {
	uri := brokers(t)["redis"]
	key := adaptertest.UniqueKey("regkill")
	const interval = 500 * time.Millisecond
	const ttl = 3 * interval
	obs := join(t, "", registry.Options{URI: uri, Key: key, Observe: true, Interval: interval})
	c := watch(obs)

	killed := startMember(t, uri, key, "killed-"+key, interval)
	c.waitFor(t, registry.Online, "killed-"+key, 10*time.Second)
	start := time.Now()
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ch := c.waitFor(t, registry.Offline, "killed-"+key, 2*(ttl+interval))
	t.Logf("kill -9: offline (%s) after %v (TTL %v + interval %v = %v)", ch.Reason, time.Since(start).Round(time.Millisecond), ttl, interval, ttl+interval)
	if ch.Reason != registry.ReasonExpired {
		t.Fatalf("reason %q", ch.Reason)
	}

	stopped := startMember(t, uri, key, "stopped-"+key, interval)
	c.waitFor(t, registry.Online, "stopped-"+key, 10*time.Second)
	start = time.Now()
	if err := stopped.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ch = c.waitFor(t, registry.Offline, "stopped-"+key, 2*time.Second)
	t.Logf("SIGTERM: offline (%s) after %v", ch.Reason, time.Since(start).Round(time.Millisecond))
	if ch.Reason != registry.ReasonLeft {
		t.Fatalf("reason %q", ch.Reason)
	}
}

// A Redis restart shorter than the TTL reports nobody offline, and the
// members converge after it (their heartbeats flow again).
func TestBrokerRestartShorterThanTTL(t *testing.T) {
	port := brokertest.FreePort(t)
	args := []string{"--port", fmt.Sprint(port)}
	proc := brokertest.StartRedis(t, port, args...)
	uri := fmt.Sprintf("redis://127.0.0.1:%d", port)
	o := registry.Options{URI: uri, Interval: 500 * time.Millisecond, TTL: 6 * time.Second}
	a := join(t, "", with(o, "a", "a"))
	b := join(t, "", with(o, "b", "b"))
	ca, cb := watch(a), watch(b)
	waitMembers(t, a, 2, 10*time.Second)
	waitMembers(t, b, 2, 10*time.Second)
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = proc.Wait()
	brokertest.StartRedis(t, port, args...)
	// Converged again: each hears the other's heartbeats after the restart.
	for _, r := range []*registry.Registry{a, b} {
		before := r.Stats().Received
		deadline := time.Now().Add(o.TTL)
		for r.Stats().Received < before+3 {
			if time.Now().After(deadline) {
				t.Fatalf("%s hears nothing after the restart: %+v", r.Instance(), r.Stats())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, c := range []*changes{ca, cb} {
		for _, ch := range c.snapshot() {
			if ch.Kind == registry.Offline {
				t.Fatalf("offline across a restart shorter than the TTL: %+v", ch)
			}
		}
	}
	if len(a.Members()) != 2 || len(b.Members()) != 2 {
		t.Fatalf("members %v / %v", instances(a.Members()), instances(b.Members()))
	}
}
