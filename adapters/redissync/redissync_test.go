package redissync_test

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/redissync"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func redisURL(t testing.TB) string {
	u := brokertest.URL("EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379")
	brokertest.Require(t, "Redis", u)
	return u
}

func TestConformance(t *testing.T) {
	u := redisURL(t)
	adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter {
		a, err := eventsync.Open(context.Background(), u, key)
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
}

func TestConformanceSharedClient(t *testing.T) {
	u := redisURL(t)
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter { return redissync.New(client, key) })
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("the adapter closed a client it did not create: %v", err)
	}
}

func TestURLForms(t *testing.T) {
	ctx := context.Background()
	for _, uri := range []string{
		"redis://127.0.0.1:6379/0",
		"rediss://127.0.0.1:6380",
		"redis+sentinel://127.0.0.1:26379?master_name=mymaster",
		"redis+cluster://127.0.0.1:7000?addr=127.0.0.1:7001",
	} {
		a, err := eventsync.Open(ctx, uri, "k")
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		a.Close(ctx)
	}
	_, err := eventsync.Open(ctx, "redis://:hunter2@127.0.0.1:6379?bogus=1", "k")
	if err == nil || !strings.Contains(err.Error(), "bogus") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("unknown option: %v (must name it and never the password)", err)
	}
}

// killClients kills the connections whose CLIENT LIST line has name=name and
// matches pubsub (a subscriber) or not, and returns how many it killed.
func killClients(t *testing.T, admin *redis.Client, name string, pubsub bool) int {
	t.Helper()
	ctx := context.Background()
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		line := sc.Text()
		fields := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] != name || (fields["sub"] != "0") != pubsub {
			continue
		}
		if err := admin.Do(ctx, "CLIENT", "KILL", "ID", fields["id"]).Err(); err != nil {
			t.Fatalf("CLIENT KILL: %v", err)
		}
		n++
	}
	return n
}

func adminClient(t *testing.T, u string) *redis.Client {
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func withName(u, name string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "client_name=" + name
}

// The subscriber's connection is killed mid-stream: it resubscribes by
// itself, counts the reconnect, and everything published after it is back
// arrives. What was published while it was away is the documented loss
// window, and the counters say exactly how much that was.
func TestKillSubscriberConnection(t *testing.T) {
	u := redisURL(t)
	key := adaptertest.UniqueKey("kill-sub")
	name := adaptertest.UniqueKey("sub")
	pub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	sub := synctest.NewReplica(t, eventsync.Options{URI: withName(u, name), Key: key})

	pub.EmitSeq(t, 0, 1000)
	sub.Got.WaitN(t, 1000, 30*time.Second)
	if n := killClients(t, adminClient(t, u), name, true); n != 1 {
		t.Fatalf("killed %d subscriber connections, want 1", n)
	}
	pub.EmitSeq(t, 1000, 2000) // the stream goes on while the subscriber is away
	synctest.WaitStats(t, sub.Sync, 30*time.Second, "a reconnect", func(s eventsync.Stats) bool { return s.Reconnects == 1 && s.Connected })
	pub.EmitSeq(t, 2000, 3000)
	evs := sub.Got.Wait(t, 30*time.Second, "the last event", func(evs []eventsync.Event) bool {
		n := synctest.SeqNumbers(evs)
		return len(n) > 0 && n[len(n)-1] == 2999
	})
	got := synctest.SeqNumbers(evs)
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("duplicate or out of order at %d: %d after %d", i, got[i], got[i-1])
		}
	}
	missed := 3000 - len(got)
	for i := 2000; i < 3000; i++ {
		if got[len(got)-3000+i] != i {
			t.Fatalf("event %d, published after the resubscription, is missing", i)
		}
	}
	ps := synctest.WaitStats(t, pub.Sync, 10*time.Second, "all published", func(s eventsync.Stats) bool { return s.Published == 3000 })
	// Dispatched is counted after the listener ran: wait for the last one.
	ss := synctest.WaitStats(t, sub.Sync, 10*time.Second, "dispatch counted", func(s eventsync.Stats) bool { return s.Dispatched == uint64(len(got)) })
	t.Logf("missed while resubscribing: %d of the 1000 published in the window; pub %+v; sub %+v", missed, ps, ss)
	// Every event is accounted for: delivered, or counted as missed from the
	// gap in the publisher's sequence numbers.
	if ps.Published != 3000 || ss.Received != uint64(len(got)) || ss.Missed != uint64(missed) {
		t.Fatalf("accounting: pub %+v sub %+v", ps, ss)
	}
}

// The publisher's connections are killed mid-stream: events wait in the
// outbox and all arrive.
func TestKillPublisherConnection(t *testing.T) {
	u := redisURL(t)
	key := adaptertest.UniqueKey("kill-pub")
	name := adaptertest.UniqueKey("pub")
	pub := synctest.NewReplica(t, eventsync.Options{URI: withName(u, name), Key: key})
	sub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	admin := adminClient(t, u)

	const total = 10_000
	killed := 0
	for i := 0; i < total; i += 500 {
		pub.EmitSeq(t, i, i+500)
		if i == 3000 || i == 6500 {
			killed += killClients(t, admin, name, false)
		}
	}
	if killed == 0 {
		t.Fatal("no publisher connection to kill")
	}
	evs := sub.Got.Wait(t, 60*time.Second, "every event", func(evs []eventsync.Event) bool {
		seen := map[int]bool{}
		for _, n := range synctest.SeqNumbers(evs) {
			seen[n] = true
		}
		return len(seen) == total
	})
	ps := synctest.WaitStats(t, pub.Sync, 10*time.Second, "all published", func(s eventsync.Stats) bool { return s.Published == total })
	ss := synctest.WaitStats(t, sub.Sync, 10*time.Second, "every message processed", func(s eventsync.Stats) bool {
		return s.Received == s.Dispatched+s.Duplicates+s.Echoes
	})
	t.Logf("killed %d publisher connections; repeats from retried pipelines dropped by the subscriber: %d; pub %+v", killed, ss.Duplicates, ps)
	if len(evs) != total {
		t.Fatalf("subscriber dispatched %d events for %d distinct: repeats got through", len(evs), total)
	}
	if ps.Published != total || ps.Dropped != 0 || ps.QueueLength != 0 || ss.Received != total+ss.Duplicates {
		t.Fatalf("accounting: pub %+v sub %+v", ps, ss)
	}
}

func TestForeignMessageCountedAsMalformed(t *testing.T) {
	u := redisURL(t)
	key := adaptertest.UniqueKey("foreign")
	sub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	pub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	if err := adminClient(t, u).Publish(context.Background(), key, "hello from redis-cli").Err(); err != nil {
		t.Fatal(err)
	}
	pub.EmitSeq(t, 0, 1)
	sub.Got.WaitN(t, 1, 30*time.Second)
	st := synctest.WaitStats(t, sub.Sync, 10*time.Second, "malformed", func(s eventsync.Stats) bool { return s.Malformed == 1 && s.Dispatched == 1 })
	if st.Received != 2 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestUnreachableRedisSurfacesInErr(t *testing.T) {
	s, err := eventsync.Configure(eventsync.NewApp(), eventsync.Options{URI: "redis://:secretpw@127.0.0.1:1/?dial_timeout=200ms"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for s.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Err() == nil || strings.Contains(s.Err().Error(), "secretpw") {
		t.Fatalf("Err() = %v", s.Err())
	}
}

// A Redis that hangs (stopped, so its kernel still answers TCP) is noticed:
// the silent subscription pings, gets no answer, reports itself
// disconnected, and resubscribes once the server runs again.
func TestHungServerNoticed(t *testing.T) {
	t.Cleanup(redissync.SetIdleTimeout(200 * time.Millisecond)) // after the replicas close
	port, server := startRedis(t, 0, nil)
	u := fmt.Sprintf("redis://127.0.0.1:%d", port)
	key := adaptertest.UniqueKey("hung")
	sub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	pub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	if err := server.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	synctest.WaitStats(t, sub.Sync, 30*time.Second, "the hang noticed", func(s eventsync.Stats) bool { return !s.Connected })
	if err := server.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	synctest.WaitStats(t, sub.Sync, 30*time.Second, "resubscribed", func(s eventsync.Stats) bool { return s.Connected && s.Reconnects == 1 })
	pub.EmitSeq(t, 0, 10)
	if got := synctest.SeqNumbers(sub.Got.WaitN(t, 10, 30*time.Second)); got[9] != 9 {
		t.Fatalf("after the hang got %v", got)
	}
}

// Clients the adapter's own subscription does not serve (Cluster, Sentinel,
// OnConnect hooks) subscribe through go-redis's PubSub, which passes the same
// suite; hiding the *redis.Client behind the interface selects it.
func TestConformanceGoRedisPubSub(t *testing.T) {
	u := redisURL(t)
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	client := struct{ redis.UniversalClient }{redis.NewClient(opts)}
	defer client.Close()
	adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter { return redissync.New(client, key) })
}

// A Redis with a password: the subscription authenticates as go-redis does,
// and a wrong password fails Subscribe with Redis's error, never the password.
func TestPassword(t *testing.T) {
	port, _ := startRedis(t, 0, nil, "--requirepass", "s3cret-pw")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wrong, err := eventsync.Open(ctx, fmt.Sprintf("redis://:not-it-pw@127.0.0.1:%d", port), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close(ctx)
	err = wrong.Subscribe(ctx, func([]byte) {})
	if err == nil || !strings.Contains(err.Error(), "AUTH") || strings.Contains(err.Error(), "not-it-pw") {
		t.Fatalf("Subscribe with a wrong password: %v (must name AUTH, never the password)", err)
	}
	for _, u := range []string{"redis://:s3cret-pw@127.0.0.1:%d", "redis://default:s3cret-pw@127.0.0.1:%d?client_name=pw-test"} {
		a, err := eventsync.Open(ctx, fmt.Sprintf(u, port), "k")
		if err != nil {
			t.Fatal(err)
		}
		synctest.PublishReceiveClose(t, a)
	}
}

// A message over the Sync's MaxMessageBytes is skipped by the adapter's
// reader without being read into memory, counted as Oversized, and what
// follows it arrives.
func TestOversizedSkippedUnread(t *testing.T) {
	u := redisURL(t)
	key := adaptertest.UniqueKey("oversized")
	sub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key, MaxMessageBytes: 4096})
	pub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	if err := adminClient(t, u).Publish(context.Background(), key, strings.Repeat("x", 2<<20)).Err(); err != nil {
		t.Fatal(err)
	}
	pub.EmitSeq(t, 0, 1)
	sub.Got.WaitN(t, 1, 30*time.Second)
	// Dispatched is counted after the listener ran: wait for it too.
	st := synctest.WaitStats(t, sub.Sync, 10*time.Second, "the skip counted", func(s eventsync.Stats) bool { return s.Oversized == 1 && s.Dispatched == 1 })
	if st.Received != 1 || st.Malformed != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

// The Pipeliner rule on a lost connection: once the publishing connection
// is gone, Confirm fails, and so does Send until a Publish (on a new
// connection) succeeds; then both work again.
func TestPipelinerAfterLostConnection(t *testing.T) {
	u := redisURL(t)
	name := adaptertest.UniqueKey("pipe")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := eventsync.Open(ctx, withName(u, name), adaptertest.UniqueKey("pipe"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	p := a.(eventsync.Pipeliner)
	if err := p.Send(ctx, []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := p.Confirm(ctx); err != nil {
		t.Fatal(err)
	}
	if n := killClients(t, adminClient(t, u), name, false); n != 1 {
		t.Fatalf("killed %d publishing connections, want 1", n)
	}
	_ = p.Send(ctx, []byte("2")) // may still reach the kernel's buffer
	if err := p.Confirm(ctx); err == nil {
		t.Fatal("Confirm succeeded on a killed connection")
	}
	if err := p.Send(ctx, []byte("3")); err == nil {
		t.Fatal("Send succeeded after a lost connection, before any Publish")
	}
	if err := a.Publish(ctx, []byte("4")); err != nil {
		t.Fatalf("Publish on a new connection: %v", err)
	}
	if err := p.Send(ctx, []byte("5")); err != nil {
		t.Fatal(err)
	}
	if err := p.Confirm(ctx); err != nil {
		t.Fatal(err)
	}
}

// Redis restarts: the subscription comes back by itself, and every event
// emitted while Redis was down waits in the outbox and is published after
// it, none dropped. (Whether a subscriber sees those depends on whether it
// resubscribed first: Redis pub/sub is at most once.)
func TestRedisRestart(t *testing.T) {
	port, server := startRedis(t, 0, nil)
	u := fmt.Sprintf("redis://127.0.0.1:%d", port)
	key := adaptertest.UniqueKey("restart")
	sub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	pub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	pub.EmitSeq(t, 0, 100)
	sub.Got.WaitN(t, 100, 30*time.Second)
	if err := server.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = server.Wait()
	synctest.WaitStats(t, sub.Sync, 30*time.Second, "the loss noticed", func(s eventsync.Stats) bool { return !s.Connected })
	pub.EmitSeq(t, 100, 200) // Redis is down
	startRedis(t, port, nil)
	synctest.WaitStats(t, sub.Sync, 30*time.Second, "resubscribed", func(s eventsync.Stats) bool { return s.Connected && s.Reconnects == 1 })
	synctest.WaitStats(t, pub.Sync, 30*time.Second, "the outbox published", func(s eventsync.Stats) bool {
		return s.Published == 200 && s.QueueLength == 0 && s.Dropped == 0
	})
	pub.EmitSeq(t, 200, 300)
	sub.Got.Wait(t, 30*time.Second, "the events after the restart", func(evs []eventsync.Event) bool {
		n := synctest.SeqNumbers(evs)
		return len(n) > 0 && n[len(n)-1] == 299
	})
}

// A Redis that accepts connections and never answers: Subscribe, Close and
// a Sync's Close honour their contexts (Subscribe used to wait 31 s for a
// PING reply, Close 34 s for Subscribe).
func TestHungServerHonoursContexts(t *testing.T) {
	synctest.CheckHungBroker(t, "redis://"+brokertest.Silent(t))
}

// A hung Redis with no write timeout and a full socket: the publisher's
// write blocks with its lock held, and Close still returns at its deadline
// (it was still blocked after 20 s), saying what was not sent.
func TestHungServerFullSocketClose(t *testing.T) {
	r := synctest.Configure(t, eventsync.Options{URI: "redis://" + brokertest.Silent(t) + "?write_timeout=-1", Key: "hung"})
	big := strings.Repeat("x", 60<<10)
	for range 300 { // 18 MB: more than the socket buffers hold
		if _, err := r.Svc.Create(context.Background(), synctest.Todo{Title: big}, nil); err != nil {
			t.Fatal(err)
		}
	}
	err, took := synctest.Within(t, "Close", 2*time.Second, 8*time.Second, r.Sync.Close)
	if err == nil || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("Close returned after %v: %v", took.Round(time.Millisecond), err)
}

// Events emitted while Redis is down wait in the outbox; when it comes
// back, the publisher holds them until the replicas had their chance to
// resubscribe, so that every receiver gets them (pub/sub keeps nothing for
// a subscriber that is not back yet).
func TestRedisRestartDeliversWhatWaited(t *testing.T) {
	port, server := startRedis(t, 0, nil)
	u := fmt.Sprintf("redis://127.0.0.1:%d", port)
	key := adaptertest.UniqueKey("restart")
	subs := []*synctest.Replica{synctest.NewReplica(t, eventsync.Options{URI: u, Key: key}), synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})}
	pub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	pub.EmitSeq(t, 0, 10)
	for _, s := range subs {
		s.Got.WaitN(t, 10, 30*time.Second)
	}
	if err := server.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = server.Wait()
	for _, s := range subs {
		synctest.WaitStats(t, s.Sync, 30*time.Second, "the loss noticed", func(s eventsync.Stats) bool { return !s.Connected })
	}
	time.Sleep(3 * time.Second) // an outage long enough for the backoffs to grow
	pub.EmitSeq(t, 10, 20)      // Redis is down: they wait in the outbox
	startRedis(t, port, nil)
	for i, s := range subs {
		s.Got.WaitSeq(t, 20, 30*time.Second)
		if st := s.Sync.Stats(); st.Missed != 0 {
			t.Fatalf("receiver %d missed events: %+v", i, st)
		}
	}
}
