package mongosync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/mongosync"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/mongotest"
	"github.com/eventsync/eventsync/internal/synctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, uri, key string) eventsync.Adapter {
	t.Helper()
	a, err := eventsync.Open(context.Background(), uri, key)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestConformance(t *testing.T) {
	srv := mongotest.Start(t)
	var opts []adaptertest.Option
	if !srv.External() {
		// FerretDB loses documents when several publishers insert into one
		// capped collection at once (see shared notes); real MongoDB runs the
		// check in full.
		opts = append(opts, adaptertest.MaxPublishers(1))
	}
	// A subscriber that falls behind finds at most the capped collection's
	// 5 MiB (about 10,000 of the suite's messages on FerretDB); older ones
	// are overwritten and counted in ResumeGaps.
	opts = append(opts, adaptertest.MaxBacklog(5000))
	for _, params := range []string{"", "?pack=true"} {
		t.Run("params="+params, func(t *testing.T) {
			adaptertest.Run(t, func(t *testing.T, key string) eventsync.Adapter {
				// A database per key: the suite's cases run at once, and FerretDB's
				// SQLite backend (a file per database) fails collections created at
				// once in one database with "database is locked".
				return open(t, srv.URL()+databaseFor(key)+params, key)
			}, opts...)
		})
	}
}

// databaseFor names a database after key, within MongoDB's rules for names.
func databaseFor(key string) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '-' || r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, key)
	return "es_" + name[:min(len(name), 60)]
}

func client(t *testing.T, srv *mongotest.Server) *mongo.Client {
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return c
}

func TestBorrowedClientAndNotCapped(t *testing.T) {
	srv := mongotest.Start(t)
	c := client(t, srv)
	ctx := context.Background()
	key := adaptertest.UniqueKey("plain")
	if err := c.Database("eventsync").CreateCollection(ctx, key); err != nil {
		t.Fatal(err)
	}
	a := mongosync.New(c, "eventsync", key)
	err := a.Subscribe(ctx, func([]byte) {})
	if err == nil || !strings.Contains(err.Error(), "not capped") {
		t.Fatalf("plain collection: %v", err)
	}
	a.Close(ctx)
	if err := c.Ping(ctx, nil); err != nil {
		t.Fatalf("the adapter disconnected a client it did not create: %v", err)
	}
}

// The test server restarts in the middle of a stream of events: the
// publisher's inserts wait in the outbox, the tailer reopens after the last
// document it delivered, and every event arrives once, in order (the
// capped collection keeps what was inserted while the subscriber was away).
// The stream is 2,000 events: FerretDB rescans the whole collection every
// 10 ms per tailer, and the test restarts the server, which a real mongod
// given by EVENTSYNC_MONGODB_URL cannot be.
//
// FerretDB, unlike mongod, can give a document its place before the insert
// commits: when the server stalls, a late commit falls behind the tailer
// and its cursor never returns that batch (stopping the server for 1.5 s
// with SIGSTOP while events flow reproduces it in about one run of three;
// one full parallel test run out of several hit it while FerretDB was
// compiling beside it). The Sync counts such a loss as Missed. So a loss
// that the Sync counted is logged and the scenario runs once more on a new
// collection, where a loss fails the test: a fault in the adapter's resume
// would lose events on every run. An uncounted loss, a repeat or a
// reordering fails at once.
func TestServerRestartMidStream(t *testing.T) {
	srv := mongotest.Start(t)
	if srv.External() {
		t.Skip("cannot restart an external server")
	}
	for attempt := 1; ; attempt++ {
		missing, st := restartMidStream(t, srv)
		if len(missing) == 0 {
			return
		}
		if attempt == 2 {
			t.Fatalf("missing %v again; subscriber %+v", missing, st)
		}
		t.Logf("missing %v, counted as Missed (%d): FerretDB's late commit? running again; subscriber %+v", missing, st.Missed, st)
	}
}

// restartMidStream runs the scenario on a new key and returns the events
// that did not arrive, as ranges.
func restartMidStream(t *testing.T, srv *mongotest.Server) ([]string, eventsync.Stats) {
	const total = 2000
	uri := srv.URL() + "eventsync"
	key := adaptertest.UniqueKey("restart")
	pub := synctest.NewReplica(t, eventsync.Options{URI: uri, Key: key})
	sub := synctest.NewReplica(t, eventsync.Options{URI: uri, Key: key})
	pub.EmitSeq(t, 0, total/2)
	if err := srv.Restart(); err != nil { // events still being inserted and tailed
		t.Fatal(err)
	}
	pub.EmitSeq(t, total/2, total)
	evs := sub.Got.Wait(t, 120*time.Second, "the last event", func(evs []eventsync.Event) bool {
		n := synctest.SeqNumbers(evs)
		return len(n) > 0 && n[len(n)-1] == total-1
	})
	got := synctest.SeqNumbers(evs)
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("repeat or out of order: %d after %d", got[i], got[i-1])
		}
	}
	st := sub.Sync.Stats()
	// Events before the first that arrived precede the subscriber's first
	// sequence number, which it cannot tell from events sent before it
	// listened: they are missing, not counted (FerretDB has started a new
	// tail after the first inserts), and the scenario runs again.
	lead := got[0]
	if st.Missed != uint64(total-len(got)-lead) {
		t.Fatalf("got %d of %d events, missing %v, but Missed is %d; subscriber %+v", len(got), total, missingRanges(got, total), st.Missed, st)
	}
	ps := synctest.WaitStats(t, pub.Sync, 30*time.Second, "all published", func(s eventsync.Stats) bool { return s.Published == total })
	t.Logf("subscriber %+v; publisher %+v", st, ps)
	if st.Reconnects < 1 || ps.Published != total || ps.Dropped != 0 {
		t.Fatalf("accounting: sub %+v pub %+v", st, ps)
	}
	return missingRanges(got, total), st
}

// A document whose payload the serializer cannot read is counted as
// malformed; one without a binary payload too, and a malformed pack, which
// costs only what follows the fault in it.
func TestMalformedDocuments(t *testing.T) {
	srv := mongotest.Start(t)
	uri := srv.URL() + "eventsync"
	key := adaptertest.UniqueKey("malformed")
	sub := synctest.NewReplica(t, eventsync.Options{URI: uri, Key: key})
	pub := synctest.NewReplica(t, eventsync.Options{URI: uri, Key: key})
	coll := client(t, srv).Database("eventsync").Collection(key)
	ctx := context.Background()
	first := []byte(`{"event":"seq","path":"todos","data":{"n":7}}`)
	badPack := append(append([]byte{byte(len(first))}, first...), 200, 'x') // a length past the end
	for _, doc := range []bson.D{
		{{Key: "payload", Value: bson.Binary{Data: []byte("not json")}}},
		{{Key: "payload", Value: "a string, not binary"}},
		{{Key: "pack", Value: bson.Binary{Data: badPack}}},
	} {
		if _, err := coll.InsertOne(ctx, doc); err != nil {
			t.Fatal(err)
		}
	}
	pub.EmitSeq(t, 0, 1)
	if got := synctest.SeqNumbers(sub.Got.WaitN(t, 2, 60*time.Second)); got[0] != 7 || got[1] != 0 {
		t.Fatalf("got %v", got)
	}
	synctest.WaitStats(t, sub.Sync, 30*time.Second, "3 malformed", func(s eventsync.Stats) bool { return s.Malformed == 3 })
}

// Data with $-prefixed keys round-trips intact (feathers-sync's old MongoDB
// adapter test), since the message travels as an opaque binary payload.
func TestDollarKeysRoundTrip(t *testing.T) {
	srv := mongotest.Start(t)
	uri := srv.URL() + "eventsync"
	key := adaptertest.UniqueKey("dollar")
	apps := make([]*eventsync.Service, 2)
	got := synctest.NewRecorder()
	for i := range apps {
		app := eventsync.NewApp()
		svc, err := eventsync.Use(app, "queries", struct{}{}, eventsync.RecordType[map[string]any]())
		if err != nil {
			t.Fatal(err)
		}
		s, err := eventsync.Configure(app, eventsync.Options{URI: uri, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(context.Background())
		<-s.Ready()
		apps[i] = svc
	}
	apps[1].On("created", got.Add)
	want := map[string]any{"$gt": 1.0, "nested": map[string]any{"$in": []any{"a", "b"}}}
	if err := apps[0].Emit(context.Background(), "created", want); err != nil {
		t.Fatal(err)
	}
	ev := got.WaitN(t, 1, 60*time.Second)[0]
	data := ev.Data.(map[string]any)
	if data["$gt"] != 1.0 || data["nested"].(map[string]any)["$in"].([]any)[1] != "b" {
		t.Fatalf("got %#v", data)
	}
}

// With pack=true a batch is one document, a lone message a plain one, and
// a replica without pack reads both: events arrive whole and in order.
func TestPackedDocuments(t *testing.T) {
	srv := mongotest.Start(t)
	uri := srv.URL() + "eventsync"
	key := adaptertest.UniqueKey("packed")
	const n = 2000
	synctest.Stream(t, uri+"?pack=true", uri, key, n, 120*time.Second)
	coll := client(t, srv).Database("eventsync").Collection(key)
	ctx := context.Background()
	packs, err := coll.CountDocuments(ctx, bson.D{{Key: "pack", Value: bson.D{{Key: "$exists", Value: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := coll.CountDocuments(ctx, bson.D{{Key: "payload", Value: bson.D{{Key: "$exists", Value: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	// How many depends on how the outbox filled behind each insert; far
	// fewer than a document per event.
	t.Logf("%d events in %d packed and %d plain documents", n, packs, plain)
	if packs == 0 || packs+plain >= n/2 {
		t.Fatalf("%d events in %d packed and %d plain documents", n, packs, plain)
	}
}

func TestURIOptions(t *testing.T) {
	for _, uri := range []string{"mongodb://127.0.0.1:1/db?capped_size=10", "mongodb://127.0.0.1:1/db?capped_size=big", "mongodb://127.0.0.1:1/db?pack=yes"} {
		if _, err := eventsync.Open(context.Background(), uri, "k"); err == nil {
			t.Errorf("%s accepted", uri)
		}
	}
}

// missingRanges lists the numbers below total that are not in got (sorted),
// as ranges, so that a failure says where the stream broke.
func missingRanges(got []int, total int) []string {
	var out []string
	next := 0
	gap := func(upTo int) {
		if upTo > next {
			out = append(out, fmt.Sprintf("%d-%d", next, upTo-1))
		}
	}
	for _, n := range got {
		gap(n)
		next = n + 1
	}
	gap(total)
	return out
}

// A MongoDB that accepts connections and never answers: Subscribe, Close
// and a Sync's Close honour their contexts.
func TestHungServerHonoursContexts(t *testing.T) {
	synctest.CheckHungBroker(t, "mongodb://"+brokertest.Silent(t)+"/eventsync?serverSelectionTimeoutMS=30000")
}
