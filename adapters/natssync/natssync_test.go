package natssync_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/natssync"
	"github.com/eventsync/eventsync/adapters/natssync/embedded"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func natsURL(t testing.TB) string {
	u := brokertest.URL("EVENTSYNC_NATS_URL", "nats://127.0.0.1:4222")
	brokertest.Require(t, "NATS", u)
	return u
}

func startEmbedded(t testing.TB) *embedded.Server {
	srv, err := embedded.Start(embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// deleteStreamLater removes the test's JetStream stream when the test ends.
func deleteStreamLater(t testing.TB, serverURL, key string) {
	t.Cleanup(func() {
		nc, err := nats.Connect(serverURL)
		if err != nil {
			return
		}
		defer nc.Close()
		if js, err := jetstream.New(nc); err == nil {
			_ = js.DeleteStream(context.Background(), "EVENTSYNC_"+key)
		}
	})
}

// serverSide are the goroutines an in-process server keeps for a stream and
// its durable consumers, which outlive the adapter by design.
var serverSide = adaptertest.IgnoreGoroutines(
	goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*consumer).loopAndGatherMsgs"),
	goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*consumer).processInboundNextMsgReqs"),
	goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*consumer).processInboundAcks"),
	goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*stream).internalLoop"),
	goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*stream).signalConsumersLoop"),
	goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"),
)

func conformance(t *testing.T, serverURL string, durable bool) {
	n := 0
	adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter {
		uri := serverURL
		if durable {
			n++
			uri += fmt.Sprintf("?durable=replica-%d&storage=memory&max_age=10m", n)
			deleteStreamLater(t, serverURL, key)
		}
		a, err := eventsync.Open(context.Background(), uri, key)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}, serverSide)
}

func TestConformance(t *testing.T) {
	t.Run("server", func(t *testing.T) { conformance(t, natsURL(t), false) })
	t.Run("server-durable", func(t *testing.T) { conformance(t, natsURL(t), true) })
	srv := startEmbedded(t)
	t.Run("embedded", func(t *testing.T) { conformance(t, srv.URL(), false) })
	t.Run("embedded-durable", func(t *testing.T) { conformance(t, srv.URL(), true) })
}

func TestBorrowedConnectionStaysOpen(t *testing.T) {
	nc, err := nats.Connect(natsURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	synctest.PublishReceiveClose(t, natssync.New(nc, adaptertest.UniqueKey("borrowed")))
	if nc.IsClosed() {
		t.Fatal("the adapter closed a connection it did not create")
	}
}

func TestBadURIOptions(t *testing.T) {
	for _, uri := range []string{"nats://127.0.0.1:4222?bogus=1", "nats://127.0.0.1:4222?storage=tape", "nats://127.0.0.1:4222?max_age=soon"} {
		if _, err := eventsync.Open(context.Background(), uri, "k"); err == nil {
			t.Errorf("%s accepted", uri)
		}
	}
	a, err := eventsync.Open(context.Background(), "nats://127.0.0.1:4222,127.0.0.1:4223", "k")
	if err != nil {
		t.Fatalf("server list: %v", err)
	}
	a.Close(context.Background())
}

// The embedded server restarts on the same port in the middle of a stream
// of 10,000 events (1,500 before, 8,500 while it is down, then 1,000 more
// once it is back). Events emitted while it is down wait in the outbox, which
// holds 2,000: the oldest of the rest are dropped and counted (DropOldest),
// and for the publisher Emitted = Published + Dropped exactly. After the
// restart the outbox drains, and what is emitted once both replicas are back
// arrives in full.
func TestServerRestartMidStream(t *testing.T) {
	srv := startEmbedded(t)
	key := adaptertest.UniqueKey("restart")
	pub := synctest.NewReplica(t, eventsync.Options{URI: srv.URL(), Key: key, OutboxSize: 2000})
	sub := synctest.NewReplica(t, eventsync.Options{URI: srv.URL(), Key: key})

	pub.EmitSeq(t, 0, 1500) // fewer than the outbox holds: nothing may drop yet
	synctest.WaitStats(t, sub.Sync, 30*time.Second, "the first 1,500", func(s eventsync.Stats) bool { return s.Dispatched == 1500 })
	srv.Stop()
	pub.EmitSeq(t, 1500, 10_000) // broker down: 8,500 events for an outbox of 2,000
	down := pub.Sync.Stats()
	if down.Dropped == 0 || down.QueueLength < 2000 || down.QueueLength > 2000+inFlightMax ||
		down.Emitted != down.Published+down.Dropped+uint64(down.QueueLength) {
		t.Fatalf("overflow while down: %+v", down)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*synctest.Replica{pub, sub} {
		synctest.WaitStats(t, r.Sync, 30*time.Second, "reconnect", func(s eventsync.Stats) bool { return s.Reconnects >= 1 && s.Connected })
	}
	synctest.WaitStats(t, pub.Sync, 30*time.Second, "outbox drained", func(s eventsync.Stats) bool { return s.QueueLength == 0 && s.Published == s.Emitted-s.Dropped })
	pub.EmitSeq(t, 10_000, 11_000)
	evs := sub.Got.Wait(t, 30*time.Second, "event 10999", func(evs []eventsync.Event) bool {
		n := synctest.SeqNumbers(evs)
		return len(n) > 0 && n[len(n)-1] == 10_999
	})
	got := synctest.SeqNumbers(evs)
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("duplicate or out of order: %d after %d", got[i], got[i-1])
		}
	}
	if tail := got[len(got)-1000:]; tail[0] != 10_000 {
		t.Fatalf("events after the restart missing: tail starts at %d", tail[0])
	}
	ps := synctest.WaitStats(t, pub.Sync, 30*time.Second, "outbox empty", func(s eventsync.Stats) bool { return s.QueueLength == 0 })
	t.Logf("subscriber got %d of 11,000; publisher dropped %d (outbox 2,000), published %d; pub %+v", len(got), ps.Dropped, ps.Published, ps)
	if ps.Emitted != 11_000 || ps.Emitted != ps.Published+ps.Dropped+ps.Unsent+uint64(ps.QueueLength) || ps.PublishFailures == 0 {
		t.Fatalf("accounting: %+v", ps)
	}
	// The subscriber accounts for every event emitted: delivered, or missed
	// (dropped by the publisher's outbox, or published while it was away),
	// counted from the gaps in the publisher's sequence numbers.
	if ss := sub.Sync.Stats(); ss.Dispatched+ss.Missed != ps.Emitted {
		t.Fatalf("subscriber accounting: %d dispatched + %d missed != %d emitted", ss.Dispatched, ss.Missed, ps.Emitted)
	}
}

// inFlightMax is how many events may be in flight (sent, not confirmed;
// counted in QueueLength) besides the full outbox while the broker is down:
// the adapter is a Pipeliner.
const inFlightMax = eventsync.MaxPipelined * eventsync.DefaultMaxBatch

// A durable replica closed and reopened with the same name gets what was
// published while it was gone.
func TestDurableReplicaCatchesUp(t *testing.T) {
	base := natsURL(t)
	key := adaptertest.UniqueKey("durable")
	deleteStreamLater(t, base, key)
	durable := base + "?durable=" + adaptertest.UniqueKey("replica") + "&storage=memory"
	pub := synctest.NewReplica(t, eventsync.Options{URI: base + "?durable=" + adaptertest.UniqueKey("pub") + "&storage=memory", Key: key})

	first := synctest.NewReplica(t, eventsync.Options{URI: durable, Key: key})
	pub.EmitSeq(t, 0, 100)
	first.Got.WaitN(t, 100, 30*time.Second)
	if err := first.Sync.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	pub.EmitSeq(t, 100, 600) // the replica is gone
	synctest.WaitStats(t, pub.Sync, 30*time.Second, "published", func(s eventsync.Stats) bool { return s.Published == 600 })

	again := synctest.NewReplica(t, eventsync.Options{URI: durable, Key: key})
	// Waiting on the counters, a timeout shows where the events stopped.
	synctest.WaitStats(t, again.Sync, 30*time.Second, "the catch-up", func(s eventsync.Stats) bool { return s.Dispatched >= 500 })
	evs := again.Got.WaitN(t, 500, 5*time.Second)
	got := synctest.SeqNumbers(evs)
	for i, n := range got[:500] {
		if n != 100+i {
			t.Fatalf("catch-up event %d is %d, want %d", i, n, 100+i)
		}
	}
}

// A durable replica closed while messages are on their way loses none: what
// the server has sent it is delivered before Close returns, and the rest
// reaches the next subscriber of the same durable consumer at once, not
// after the server's 30-second acknowledgement deadline.
func TestDurableCloseHandsOnWhatItDidNotDeliver(t *testing.T) {
	base := natsURL(t)
	key := adaptertest.UniqueKey("durclose")
	deleteStreamLater(t, base, key)
	cfg := natssync.Config{Durable: adaptertest.UniqueKey("replica"), MemoryStorage: true}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex
	seen := map[string]int{} // message -> deliveries, over both subscribers
	record := func(b []byte) {
		mu.Lock()
		seen[string(b)]++
		mu.Unlock()
	}
	first := natssync.Dial(base, key, cfg)
	got, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	if err := first.Subscribe(ctx, func(b []byte) {
		record(b)
		once.Do(func() { close(got); <-release }) // hold the consumer on the first message
	}); err != nil {
		t.Fatal(err)
	}
	pub := natssync.Dial(base, key, natssync.Config{})
	defer pub.Close(context.Background())
	const n = 50
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = []byte(fmt.Sprintf("m%02d", i))
	}
	if err := pub.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	<-got
	closed := make(chan error, 1)
	go func() { closed <- first.Close(ctx) }()
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}

	// Publish 50 more, so that the next subscriber has something to get
	// whatever the first one took.
	more := make([][]byte, n)
	for i := range more {
		more[i] = []byte(fmt.Sprintf("m%02d", n+i))
	}
	if err := pub.Publish(ctx, more...); err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, more...)
	next := natssync.Dial(base, key, cfg)
	defer next.Close(context.Background())
	all := make(chan struct{})
	if err := next.Subscribe(ctx, func(b []byte) {
		record(b)
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == len(msgs) {
			select {
			case <-all:
			default:
				close(all)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		var missing []string
		for _, m := range msgs {
			if seen[string(m)] == 0 {
				missing = append(missing, string(m))
			}
		}
		t.Fatalf("%d of %d messages delivered within 10 s of the next subscriber; missing %v", len(seen), len(msgs), missing)
	}
}

// Without RoundTrip a replica asks the server not to send its own messages
// back (no_echo), so it receives only what others publish; with RoundTrip
// its own come back, as they must.
func TestOwnMessagesNotSentBack(t *testing.T) {
	uri := natsURL(t)
	for _, roundTrip := range []bool{false, true} {
		t.Run(fmt.Sprintf("roundtrip=%v", roundTrip), func(t *testing.T) {
			key := adaptertest.UniqueKey("noecho")
			a := synctest.NewReplica(t, eventsync.Options{URI: uri, Key: key, RoundTrip: roundTrip})
			b := synctest.NewReplica(t, eventsync.Options{URI: uri, Key: key, RoundTrip: roundTrip})
			a.EmitSeq(t, 0, 100)
			synctest.WaitStats(t, b.Sync, 30*time.Second, "a's 100 events at b", func(s eventsync.Stats) bool { return s.Dispatched >= 100 })
			// The server has now handled a's messages; a marker from b reaches a
			// after any echo of them would have.
			b.EmitSeq(t, 100, 101)
			own := uint64(0)
			if roundTrip {
				own = 100
			}
			st := synctest.WaitStats(t, a.Sync, 30*time.Second, "b's marker at a", func(s eventsync.Stats) bool { return s.Dispatched >= own+1 })
			if st.Received != own+1 || st.Echoes != 0 {
				t.Fatalf("a received %d messages (want %d) and dropped %d echoes: %+v", st.Received, own+1, st.Echoes, st)
			}
		})
	}
}

// A NATS server that accepts connections and never answers: Subscribe,
// Close and a Sync's Close honour their contexts (Close used to wait 5.5 s
// for a Subscribe that nats.Connect gave no context).
func TestHungServerHonoursContexts(t *testing.T) {
	synctest.CheckHungBroker(t, "nats://"+brokertest.Silent(t))
}
