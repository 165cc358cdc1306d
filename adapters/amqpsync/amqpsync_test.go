package amqpsync_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/amqpsync"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func amqpURL(t testing.TB) string {
	u := brokertest.URL("EVENTSYNC_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
	brokertest.Require(t, "RabbitMQ", u)
	return u
}

func TestConformance(t *testing.T) {
	u := amqpURL(t)
	for _, params := range []string{"", "?confirm=false", "?ack=manual&prefetch=100", "?pack=true", "?pack=true&confirm=false"} {
		t.Run("params="+params, func(t *testing.T) {
			adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter {
				a, err := eventsync.Open(context.Background(), u+params, key)
				if err != nil {
					t.Fatal(err)
				}
				return a
			})
		})
	}
}

func TestBorrowedConnection(t *testing.T) {
	conn, err := amqp.Dial(amqpURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	synctest.PublishReceiveClose(t, amqpsync.New(conn, adaptertest.UniqueKey("borrowed"), amqpsync.Config{}))
	if conn.IsClosed() {
		t.Fatal("the adapter closed a connection it did not create")
	}
}

// Feathers-sync loses events when its process exits within about two
// seconds of publishing; with confirms, Close returns only when RabbitMQ has
// every event.
func TestTenThousandEventsRightBeforeClose(t *testing.T) {
	u := amqpURL(t)
	key := adaptertest.UniqueKey("close")
	sub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	pub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	pub.EmitSeq(t, 0, 10_000)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := pub.Sync.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := pub.Sync.Stats(); st.Published != 10_000 {
		t.Fatalf("published %+v", st)
	}
	sub.Got.WaitSeq(t, 10_000, 60*time.Second)
}

func closeAllConnections(t *testing.T) {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "close_all_connections", "eventsync test").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl close_all_connections: %v: %s", err, out)
	}
}

func consumerCount(t *testing.T, u, key string) int {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "list_consumers", "-q", "queue_name", "channel_pid").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl list_consumers: %v: %s", err, out)
	}
	// Our queues are server-named (amq.gen-...); count consumers bound to the
	// key's exchange via list_bindings.
	bind, err := exec.Command("rabbitmqctl", "list_bindings", "-q", "source_name", "destination_name").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl list_bindings: %v: %s", err, bind)
	}
	queues := map[string]bool{}
	for _, line := range strings.Split(string(bind), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			queues[f[1]] = true
		}
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 1 && queues[f[0]] {
			n++
		}
	}
	return n
}

// The broker closes every connection in the middle of a stream: nothing
// queued on the publishing side is lost, and each replica has exactly one
// consumer afterwards. Packed or not.
func TestBrokerClosesConnections(t *testing.T) {
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Skip("rabbitmqctl not installed")
	}
	for _, params := range []string{"", "?pack=true"} {
		t.Run("params="+params, func(t *testing.T) { brokerClosesConnections(t, amqpURL(t)+params) })
	}
}

func brokerClosesConnections(t *testing.T, u string) {
	key := adaptertest.UniqueKey("closeall")
	pub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	sub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	pub.EmitSeq(t, 0, 3000)
	sub.Got.WaitN(t, 3000, 30*time.Second)

	pub.EmitSeq(t, 3000, 6000)
	closeAllConnections(t)
	pub.EmitSeq(t, 6000, 9000)
	for _, r := range []*synctest.Replica{pub, sub} {
		synctest.WaitStats(t, r.Sync, 30*time.Second, "reconnect", func(s eventsync.Stats) bool { return s.Reconnects >= 1 && s.Connected })
	}
	synctest.WaitStats(t, pub.Sync, 30*time.Second, "outbox drained", func(s eventsync.Stats) bool { return s.Published == 9000 })
	pub.EmitSeq(t, 9000, 10_000)
	evs := sub.Got.Wait(t, 30*time.Second, "event 9999", func(evs []eventsync.Event) bool {
		n := synctest.SeqNumbers(evs)
		return len(n) > 0 && n[len(n)-1] == 9999
	})
	got := synctest.SeqNumbers(evs)
	seen := map[int]int{}
	for _, n := range got {
		seen[n]++
	}
	for i := 9000; i < 10_000; i++ {
		if seen[i] != 1 {
			t.Fatalf("event %d after the reconnect delivered %d times", i, seen[i])
		}
	}
	ps := synctest.WaitStats(t, pub.Sync, 30*time.Second, "all published", func(s eventsync.Stats) bool { return s.Published == 10_000 })
	ss := sub.Sync.Stats()
	t.Logf("subscriber got %d distinct of 10,000 (%d dispatched, %d repeats dropped); pub %+v", len(seen), len(got), ss.Duplicates, ps)
	if len(got) != len(seen) {
		t.Fatalf("repeats reached the listener: %d dispatched, %d distinct", len(got), len(seen))
	}
	if ss.Missed != uint64(10_000-len(seen)) {
		t.Fatalf("subscriber counts %d missed, but %d of 10,000 did not arrive", ss.Missed, 10_000-len(seen))
	}
	if ps.Dropped != 0 || ps.Emitted != 10_000 || ps.Published != 10_000 {
		t.Fatalf("publisher lost events: %+v", ps)
	}
	if n := consumerCount(t, u, key); n != 2 {
		t.Fatalf("%d consumers on the key's queues after reconnect, want 2 (one per replica)", n)
	}
}

func TestBadInput(t *testing.T) {
	u := amqpURL(t)
	key := adaptertest.UniqueKey("bad")
	sub := synctest.NewReplica(t, eventsync.Options{URI: u, Key: key})
	conn, err := amqp.Dial(u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A malformed pack costs only what follows the fault in it.
	first := []byte(`{"event":"seq","path":"todos","data":{"n":2}}`)
	pack := append([]byte{byte(len(first))}, first...)
	pack = append(pack, 200, 'x') // a length past the end
	for _, p := range []amqp.Publishing{
		{Body: []byte("garbage")},
		{Body: []byte(`{"event":"seq","path":"todos","data":{"n":1}}`), ContentType: "text/xml"},
		{Body: pack, ContentType: amqpsync.PackContentType},
		{Body: []byte(`{"event":"seq","path":"todos","data":{"n":3}}`)},
	} {
		if err := ch.PublishWithContext(ctx, key, "", false, false, p); err != nil {
			t.Fatal(err)
		}
	}
	got := sub.Got.WaitN(t, 2, 30*time.Second)
	if n := synctest.SeqNumbers(got); n[0] != 2 || n[1] != 3 {
		t.Fatalf("got %v", n)
	}
	synctest.WaitStats(t, sub.Sync, 10*time.Second, "3 malformed", func(s eventsync.Stats) bool { return s.Malformed == 3 })

	// An exchange of another type under the key: a clear error, not a hang.
	other := adaptertest.UniqueKey("direct")
	if err := ch.ExchangeDeclare(other, "direct", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	a, err := eventsync.Open(ctx, u, other)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = a.Subscribe(sctx, func([]byte) {})
	if err == nil || !strings.Contains(err.Error(), "fanout") {
		t.Fatalf("exchange of another type: %v", err)
	}
}

// With pack=true a batch goes to RabbitMQ as one message that only
// eventsync reads, and a lone message as a plain one that feathers-sync
// reads too.
func TestPackedBatchIsOneMessage(t *testing.T) {
	u := amqpURL(t)
	key := adaptertest.UniqueKey("pack")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bare := bareConsumer(t, u, key)
	pub, err := eventsync.Open(ctx, u+"?pack=true", key)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(ctx)
	var batch [][]byte
	for i := range 10 {
		batch = append(batch, []byte(fmt.Sprintf(`{"n":%d}`, i)))
	}
	if err := pub.Publish(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, []byte("lone")); err != nil {
		t.Fatal(err)
	}
	var got []amqp.Delivery
	for len(got) < 2 {
		select {
		case d := <-bare:
			got = append(got, d)
		case <-ctx.Done():
			t.Fatalf("%d of 2 AMQP messages arrived", len(got))
		}
	}
	if got[0].ContentType != amqpsync.PackContentType || got[1].ContentType != "" || string(got[1].Body) != "lone" {
		t.Fatalf("content types %q, %q; second body %q", got[0].ContentType, got[1].ContentType, got[1].Body)
	}
	// The pack's body, read by hand: length, message, length, message...
	body := got[0].Body
	for i, want := range batch {
		if len(body) == 0 || int(body[0]) != len(want) || !bytes.Equal(body[1:1+len(want)], want) {
			t.Fatalf("message %d of the pack: %q", i, body)
		}
		body = body[1+len(want):]
	}
	if len(body) != 0 {
		t.Fatalf("%d bytes after the last message", len(body))
	}
}

// bareConsumer consumes the key's exchange with amqp091-go alone.
func bareConsumer(t *testing.T, u, key string) <-chan amqp.Delivery {
	t.Helper()
	conn, err := amqp.Dial(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(key, "fanout", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "", key, false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return deliveries
}

// Replicas on pack=true: a fast stream arrives whole and in order, the
// publisher's own messages are dropped as echoes (before they are copied
// out of their pack), and a replica without pack reads the packs too.
func TestPackedReplicas(t *testing.T) {
	u := amqpURL(t)
	key := adaptertest.UniqueKey("packed")
	const n = 20_000
	pub, sub := synctest.Stream(t, u+"?pack=true", u, key, n, 60*time.Second)
	ps := synctest.WaitStats(t, pub.Sync, 30*time.Second, "own echoes dropped", func(s eventsync.Stats) bool { return s.Echoes == n })
	if local := len(pub.Got.Events()); local != n || ps.Dispatched != 0 {
		t.Fatalf("publisher's listener ran %d times, %d dispatched from the broker (want %d, 0): %+v", local, ps.Dispatched, n, ps)
	}
	if ss := sub.Sync.Stats(); ss.Received != n || ss.Malformed != 0 {
		t.Fatalf("subscriber %+v", ss)
	}
}

func TestURIParameters(t *testing.T) {
	ctx := context.Background()
	for _, params := range []string{"?confirm=maybe", "?ack=sometimes", "?pack=yes", "?prefetch=0", "?packs=true"} {
		if a, err := eventsync.Open(ctx, "amqp://127.0.0.1:1/"+params, "k"); err == nil {
			a.Close(ctx)
			t.Errorf("%s: no error", params)
		}
	}
	for _, params := range []string{"?confirm=true&ack=auto&pack=false", "?confirm=false&ack=manual&prefetch=5&pack=true&name=x"} {
		a, err := eventsync.Open(ctx, "amqp://127.0.0.1:1/"+params, "k")
		if err != nil {
			t.Fatalf("%s: %v", params, err)
		}
		a.Close(ctx)
	}
}

// A replica with pack=true says, once, that a feathers-sync replica (whose
// JSON has no origin) publishes on its key; eventsync's messages do not
// set it off.
func TestPackWarnsOfNodeReplicas(t *testing.T) {
	u := amqpURL(t)
	key := adaptertest.UniqueKey("packnode")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs synctest.Buffer
	a := amqpsync.Dial(u, key, amqpsync.Config{Pack: true})
	a.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	defer a.Close(ctx)
	got := make(chan []byte, 4)
	if err := a.Subscribe(ctx, func(m []byte) { got <- m }); err != nil {
		t.Fatal(err)
	}
	pub, err := eventsync.Open(ctx, u, key)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(ctx)
	for i, m := range []string{`{"origin":"r1","event":"created","path":"todos","data":{}}`, `{"event":"created","path":"todos","data":{}}`, `{"event":"created","path":"todos","data":{}}`} {
		if err := pub.Publish(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatalf("message %d did not arrive", i)
		}
		if n := strings.Count(logs.String(), "feathers-sync replica publishes"); n != min(i, 1) {
			t.Fatalf("after message %d: %d warnings: %s", i, n, logs.String())
		}
	}
}

// A RabbitMQ that accepts connections and never answers: Subscribe, Close
// and a Sync's Close honour their contexts (Close used to wait 29.5 s for
// Subscribe, which amqp091-go's calls give no context).
func TestHungServerHonoursContexts(t *testing.T) {
	synctest.CheckHungBroker(t, "amqp://guest:guest@"+brokertest.Silent(t)+"/")
}

// A RabbitMQ that hangs once connected (its sockets open, silent): Close
// returns at its deadline, where closing the channels used to wait for the
// heartbeat to give up (14.9 s for a 2 s deadline).
func TestHungAfterConnectClose(t *testing.T) {
	u, err := url.Parse(amqpURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := brokertest.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	r := synctest.NewReplica(t, eventsync.Options{URI: u.String(), Key: adaptertest.UniqueKey("hung")})
	r.EmitSeq(t, 0, 10)
	synctest.WaitStats(t, r.Sync, 10*time.Second, "10 published", func(s eventsync.Stats) bool { return s.Published == 10 })
	proxy.Freeze()
	r.EmitSeq(t, 10, 20)
	err, took := synctest.Within(t, "Close", 2*time.Second, 6*time.Second, r.Sync.Close)
	if err == nil || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("Close returned after %v: %v", took.Round(time.Millisecond), err)
}
