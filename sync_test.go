package eventsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/memsync"
	"github.com/eventsync/eventsync/serializer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestExports(t *testing.T) {
	if eventsync.DefaultKey != "feathers-sync" {
		t.Fatalf("DefaultKey = %q, want feathers-sync's default", eventsync.DefaultKey)
	}
	found := false
	for _, s := range eventsync.Schemes() {
		found = found || s == "mem"
	}
	if !found {
		t.Fatalf("mem scheme not registered: %v", eventsync.Schemes())
	}
	if !eventsync.SyncEnabled(context.Background()) || eventsync.SyncEnabled(eventsync.WithoutSync(context.Background())) {
		t.Fatal("SyncEnabled does not follow WithoutSync")
	}
}

func TestConfigureErrors(t *testing.T) {
	app, _ := newApp(t)
	_, err := eventsync.Configure(app, eventsync.Options{})
	if !errors.Is(err, eventsync.ErrNoTransport) || !strings.Contains(err.Error(), "Options.URI") {
		t.Fatalf("missing URI: got %v, want ErrNoTransport naming Options.URI", err)
	}
	_, err = eventsync.Configure(app, eventsync.Options{URI: "bogus://user:secret@host/"})
	if !errors.Is(err, eventsync.ErrUnknownScheme) || !strings.Contains(err.Error(), "mem") {
		t.Fatalf("unknown scheme: got %v, want ErrUnknownScheme listing mem", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error leaks the password: %v", err)
	}
	_, err = eventsync.Configure(app, eventsync.Options{URI: "mem://x?serializer=yaml"})
	if err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Fatalf("unknown serializer: got %v", err)
	}
	_, err = eventsync.Configure(app, eventsync.Options{URI: "mem://x?bogus=1"})
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown URI parameter: got %v", err)
	}
	_, err = eventsync.Configure(app, eventsync.Options{URI: "::not a uri"})
	if err == nil {
		t.Fatal("invalid URI accepted")
	}
}

func TestConfigureTwice(t *testing.T) {
	r := newReplica(t, t.Name(), eventsync.Options{})
	_, err := eventsync.Configure(r.app, eventsync.Options{URI: "mem://" + t.Name()})
	if !errors.Is(err, eventsync.ErrAlreadyConfigured) {
		t.Fatalf("second Configure: got %v, want ErrAlreadyConfigured", err)
	}
	if r.sync.Type() != "mem" {
		t.Fatalf("Type() = %q", r.sync.Type())
	}
}

// tap subscribes a bare adapter on the bus and returns the raw messages.
func tap(t *testing.T, bus string) chan []byte {
	t.Helper()
	a := memsync.New(memsync.Named(bus), eventsync.DefaultKey)
	ch := make(chan []byte, 100)
	if err := a.Subscribe(context.Background(), func(m []byte) { ch <- m }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return ch
}

func next(t *testing.T, ch chan []byte) map[string]any {
	t.Helper()
	select {
	case m := <-ch:
		var v map[string]any
		if err := json.Unmarshal(m, &v); err != nil {
			t.Fatalf("message is not JSON: %v: %s", err, m)
		}
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no message published")
	}
	return nil
}

func TestSyncOutMessageShape(t *testing.T) {
	r := newReplica(t, t.Name(), eventsync.Options{ReplicaID: "r1"})
	raw := tap(t, t.Name())
	ctx := context.Background()
	params := eventsync.Params{"query": map[string]any{"done": false}, "provider": "rest", "user": "alice", "headers": "secret"}
	if _, err := r.svc.Create(ctx, Todo{Title: "a"}, params); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Update(ctx, 1, Todo{Title: "b"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Patch(ctx, 1, map[string]any{"done": true}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Remove(ctx, 1, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ event, method string }{
		{"created", "create"}, {"updated", "update"}, {"patched", "patch"}, {"removed", "remove"},
	} {
		m := next(t, raw)
		if m["event"] != want.event || m["path"] != "todos" || m["origin"] != "r1" {
			t.Fatalf("envelope: %v", m)
		}
		data := m["data"].(map[string]any)
		if data["id"] != 1.0 {
			t.Fatalf("%s data: %v", want.event, data)
		}
		c := m["context"].(map[string]any)
		if c["method"] != want.method || c["path"] != "todos" || c["type"] != "after" || c["event"] != want.event {
			t.Fatalf("%s context: %v", want.event, c)
		}
		if c["result"].(map[string]any)["id"] != 1.0 {
			t.Fatalf("%s context result: %v", want.event, c)
		}
		if want.method != "create" && c["id"] != 1.0 {
			t.Fatalf("%s context id: %v", want.event, c)
		}
		if want.event == "created" {
			p := c["params"].(map[string]any)
			if p["provider"] != "rest" || p["query"] == nil || p["user"] != nil || p["headers"] != nil {
				t.Fatalf("params not filtered to the allowlist: %v", p)
			}
		}
	}
}

func TestSyncOffKeepsEventLocal(t *testing.T) {
	bus := t.Name()
	a := newReplica(t, bus, eventsync.Options{})
	b := newReplica(t, bus, eventsync.Options{})
	a.svc.Hooks(eventsync.Hooks{After: []eventsync.Hook{func(ctx context.Context, hc *eventsync.HookContext) error {
		if title, _ := hc.Data.(Todo); title.Title == "hook-local" {
			hc.Sync = false
		}
		return nil
	}}})
	ctx := context.Background()
	mustCreate(t, a.svc, ctx, "hook-local")
	mustCreate(t, a.svc, eventsync.WithoutSync(ctx), "ctx-local")
	if err := a.svc.Emit(eventsync.WithoutSync(ctx), "progress", Progress{Percent: 5}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, a.svc, ctx, "synced")

	local := a.got.wait(t, 4)
	if local[0].Sync || local[1].Sync || local[2].Sync || !local[3].Sync {
		t.Fatalf("local Sync flags wrong: %+v", local)
	}
	remote := b.got.wait(t, 1)
	if len(remote) != 1 || remote[0].Data.(Todo).Title != "synced" {
		t.Fatalf("remote replica got %+v, want only the synced todo", remote)
	}
	// Published is counted when Publish returns, which may be after delivery.
	if st := waitStats(t, a.sync, "published", func(s eventsync.Stats) bool { return s.Published == 1 }); st.Emitted != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func mustCreate(t *testing.T, svc *eventsync.Service, ctx context.Context, title string) Todo {
	t.Helper()
	res, err := svc.Create(ctx, Todo{Title: title}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.(Todo)
}

func TestCustomEventsSyncedAppEventsNot(t *testing.T) {
	bus := t.Name()
	a := newReplica(t, bus, eventsync.Options{})
	b := newReplica(t, bus, eventsync.Options{})
	appEvents := newRecorder()
	b.app.On("custom", appEvents.add)
	a.app.Emit("custom", "not synced")
	ctx := context.Background()
	if err := a.svc.Emit(ctx, "progress", Progress{Percent: 42}); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Emit(ctx, "nope", 1); !errors.Is(err, eventsync.ErrUnknownEvent) {
		t.Fatalf("undeclared event: %v", err)
	}
	if err := a.svc.Emit(ctx, "progress", "wrong type"); !errors.Is(err, eventsync.ErrInvalidArgument) {
		t.Fatalf("wrong data type: %v", err)
	}
	got := b.got.wait(t, 1)
	if got[0].Name != "progress" || got[0].Data.(Progress).Percent != 42 || got[0].Context != nil || !got[0].Remote {
		t.Fatalf("custom event: %+v", got[0])
	}
	if len(appEvents.snapshot()) != 0 {
		t.Fatal("app-level event was synced")
	}
}

// Three replicas on one bus: each sees every event exactly once, including
// the origin, with the record type and context fields.
func TestThreeReplicas(t *testing.T) {
	bus := t.Name()
	rs := []*replica{
		newReplica(t, bus, eventsync.Options{ReplicaID: "r0"}),
		newReplica(t, bus, eventsync.Options{ReplicaID: "r1"}),
		newReplica(t, bus, eventsync.Options{ReplicaID: "r2"}),
	}
	ctx := context.Background()
	for i, r := range rs {
		mustCreate(t, r.svc, ctx, "from-"+r.sync.ReplicaID())
		if _, err := r.svc.Patch(ctx, 1, map[string]any{"done": true}, eventsync.Params{"provider": "socketio"}); err != nil {
			t.Fatal(i, err)
		}
	}
	for _, r := range rs {
		got := r.got.wait(t, 6)
		if len(got) != 6 {
			t.Fatalf("%s got %d events, want 6", r.sync.ReplicaID(), len(got))
		}
		seen := map[string]int{}
		for _, ev := range got {
			todo, ok := ev.Data.(Todo)
			if !ok {
				t.Fatalf("data is %T, want Todo", ev.Data)
			}
			seen[ev.Origin+" "+ev.Name]++
			if ev.Remote != (ev.Origin != r.sync.ReplicaID()) {
				t.Fatalf("Remote flag wrong: %+v", ev)
			}
			hc := ev.Context
			if hc == nil || hc.App != r.app || hc.Service != r.svc || hc.Path != "todos" {
				t.Fatalf("context lacks app/service/path: %+v", hc)
			}
			if ev.Name == "patched" && (hc.Method != "patch" || hc.Params["provider"] != "socketio" || !todo.Done) {
				t.Fatalf("patched context: %+v data %+v", hc, todo)
			}
			if ev.Name == "created" && todo.Title != "from-"+ev.Origin {
				t.Fatalf("created data %+v from %s", todo, ev.Origin)
			}
		}
		for _, o := range []string{"r0", "r1", "r2"} {
			if seen[o+" created"] != 1 || seen[o+" patched"] != 1 {
				t.Fatalf("%s: events by origin %v", r.sync.ReplicaID(), seen)
			}
		}
		st := waitStats(t, r.sync, "4 dispatched, 2 echoes, 2 published", func(s eventsync.Stats) bool {
			return s.Dispatched == 4 && s.Echoes == 2 && s.Published == 2
		})
		if st.Received != 6 || st.Malformed != 0 {
			t.Fatalf("stats: %+v", st)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	bus := t.Name()
	a := newReplica(t, bus, eventsync.Options{RoundTrip: true, ReplicaID: "a"})
	b := newReplica(t, bus, eventsync.Options{RoundTrip: true, ReplicaID: "b"})
	ctx := context.Background()
	mustCreate(t, a.svc, ctx, "one")
	mustCreate(t, b.svc, ctx, "two")
	for _, r := range []*replica{a, b} {
		got := r.got.wait(t, 2)
		for _, ev := range got {
			if ev.Remote != (ev.Origin != r.sync.ReplicaID()) {
				t.Fatalf("Remote flag: %+v", ev)
			}
		}
		st := waitStats(t, r.sync, "2 dispatched", func(s eventsync.Stats) bool { return s.Dispatched == 2 })
		if st.Echoes != 0 {
			t.Fatalf("round trip must not drop echoes: %+v", st)
		}
	}
	// Local-only events are not deferred in round trip mode.
	mustCreate(t, a.svc, eventsync.WithoutSync(ctx), "local")
	if got := a.got.snapshot(); len(got) != 3 || got[2].Data.(Todo).Title != "local" {
		t.Fatalf("local event in round trip mode: %+v", got)
	}
}

func TestEchoSuppressedByDefault(t *testing.T) {
	a := newReplica(t, t.Name(), eventsync.Options{})
	mustCreate(t, a.svc, context.Background(), "x")
	// The event reached the local listener at once, before any broker trip.
	if got := a.got.snapshot(); len(got) != 1 || got[0].Remote || got[0].Origin != a.sync.ReplicaID() {
		t.Fatalf("local delivery: %+v", got)
	}
	waitStats(t, a.sync, "the echo", func(s eventsync.Stats) bool { return s.Echoes == 1 })
	if n := len(a.got.snapshot()); n != 1 {
		t.Fatalf("echo delivered: %d events", n)
	}
}

// echoFiltering is a mem adapter that drops what the Sync's echo filter
// reports before delivering it, as the Redis adapter does in its reader.
type echoFiltering struct {
	*memsync.Adapter
	isEcho  func([]byte) bool
	dropped atomic.Int64
}

func (e *echoFiltering) SetEchoFilter(isEcho func([]byte) bool) { e.isEcho = isEcho }

func (e *echoFiltering) Subscribe(ctx context.Context, deliver func([]byte)) error {
	return e.Adapter.Subscribe(ctx, func(msg []byte) {
		if e.isEcho != nil && e.isEcho(msg) {
			e.dropped.Add(1)
			return
		}
		deliver(msg)
	})
}

// A Sync hands an EchoFilterer its echo test (not in RoundTrip mode, where
// the origin waits for its own echo): the adapter drops the replica's own
// messages, still counted as received echoes, and passes the others on.
func TestEchoFilterer(t *testing.T) {
	bus := t.Name()
	fa := &echoFiltering{Adapter: memsync.New(memsync.Named(bus), eventsync.DefaultKey)}
	fb := &echoFiltering{Adapter: memsync.New(memsync.Named(bus), eventsync.DefaultKey)}
	a := newReplica(t, bus, eventsync.Options{Adapter: fa})
	b := newReplica(t, bus, eventsync.Options{Adapter: fb})
	mustCreate(t, a.svc, context.Background(), "x")
	if got := b.got.wait(t, 1); got[0].Origin != a.sync.ReplicaID() || !got[0].Remote {
		t.Fatalf("b got %+v", got)
	}
	st := waitStats(t, a.sync, "the echo", func(s eventsync.Stats) bool { return s.Echoes == 1 })
	if st.Received != 1 || st.Dispatched != 0 || fa.dropped.Load() != 1 || fb.dropped.Load() != 0 {
		t.Fatalf("a: %+v, dropped by a's adapter %d, by b's %d", st, fa.dropped.Load(), fb.dropped.Load())
	}
	if n := len(a.got.snapshot()); n != 1 {
		t.Fatalf("a's listener saw %d events, want its own one", n)
	}
	rt := &echoFiltering{Adapter: memsync.New(memsync.Named(bus), eventsync.DefaultKey)}
	newReplica(t, bus, eventsync.Options{Adapter: rt, RoundTrip: true})
	if rt.isEcho != nil {
		t.Fatal("a RoundTrip Sync set an echo filter")
	}
}

func TestBadInputCountedSubscriptionContinues(t *testing.T) {
	bus := t.Name()
	b := newReplica(t, bus, eventsync.Options{MaxMessageBytes: 4096})
	raw := memsync.New(memsync.Named(bus), eventsync.DefaultKey)
	defer raw.Close(context.Background())
	ctx := context.Background()
	err := raw.Publish(ctx,
		[]byte("not json"),
		[]byte(`{"event":"created"}`),
		[]byte(`{"event":"created","path":"nope","data":{}}`),
		[]byte(`{"event":"bogus","path":"todos","data":{}}`),
		[]byte(`{"event":"created","path":"todos","data":{"id":"not a number"}}`),
		[]byte(`{"event":"created","path":"todos","data":{"id":1,"title":"`+strings.Repeat("x", 5000)+`"}}`),
		[]byte(`{"event":"created","path":"todos","data":{"id":7,"title":"ok","extra":1},"context":{"arguments":[{},{}],"type":"around","method":"create","path":"todos","result":{"id":7},"params":{"provider":"rest","user":{"password":"x"}}}}`),
	)
	if err != nil {
		t.Fatal(err)
	}
	got := b.got.wait(t, 1)
	ev := got[0]
	if todo := ev.Data.(Todo); todo.ID != 7 || todo.Title != "ok" || ev.Origin != "" || !ev.Remote {
		t.Fatalf("valid message after bad ones: %+v", ev)
	}
	if ev.Context.Type != "around" || ev.Context.Params["user"] != nil || ev.Context.Params["provider"] != "rest" {
		t.Fatalf("feathers context: %+v", ev.Context)
	}
	// Dispatched is counted after the listeners ran: wait for it too.
	st := waitStats(t, b.sync, "all counted", func(s eventsync.Stats) bool { return s.Received == 7 && s.Dispatched == 1 })
	if st.Malformed != 3 || st.UnknownPath != 2 || st.Oversized != 1 || st.Dispatched != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestUnserializableDataFailsPublishOnly(t *testing.T) {
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "things", &anyService{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := eventsync.Configure(app, eventsync.Options{URI: "mem://" + t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	got := newRecorder()
	svc.On("created", got.add)
	for _, bad := range []any{make(chan int), math.Inf(1), func() {}} {
		if _, err := svc.Create(context.Background(), bad, nil); err != nil {
			t.Fatalf("service call failed because of sync: %v", err)
		}
	}
	if evs := got.wait(t, 3); evs[0].Sync {
		t.Fatalf("unsendable event marked Sync: %+v", evs[0])
	}
	if st := s.Stats(); st.EncodeErrors != 3 || st.Emitted != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

type anyService struct{}

func (anyService) Create(ctx context.Context, data any, p eventsync.Params) (any, error) {
	return data, nil
}

func TestCloseFlushesQueue(t *testing.T) {
	bus := t.Name()
	g := newGate(bus, eventsync.DefaultKey)
	a := newReplica(t, bus, eventsync.Options{Adapter: g})
	b := newReplica(t, bus, eventsync.Options{})
	ctx := context.Background()
	const n = 10_000
	for i := range n {
		if err := a.svc.Emit(ctx, "progress", Progress{Percent: i}); err != nil {
			t.Fatal(err)
		}
	}
	if q := a.sync.Stats().QueueLength; q == 0 {
		t.Fatal("nothing queued while the broker is down")
	}
	g.open.Store(true)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.sync.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st := a.sync.Stats()
	if st.Published != n || st.QueueLength != 0 || st.Dropped != 0 {
		t.Fatalf("after Close: %+v", st)
	}
	got := b.got.wait(t, n)
	for i, ev := range got {
		if ev.Data.(Progress).Percent != i {
			t.Fatalf("event %d out of order: %+v", i, ev.Data)
		}
	}
	// Events emitted after Close stay local.
	mustCreate(t, a.svc, ctx, "after close")
	if evs := a.got.snapshot(); evs[len(evs)-1].Sync {
		t.Fatal("event after Close marked Sync")
	}
}

func TestCloseWithDeadBrokerReportsUnsent(t *testing.T) {
	bus := t.Name()
	g := newGate(bus, eventsync.DefaultKey)
	a := newReplica(t, bus, eventsync.Options{Adapter: g})
	for range 100 {
		mustCreate(t, a.svc, context.Background(), "x")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := a.sync.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "100 events not sent") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with dead broker: %v", err)
	}
	st := a.sync.Stats()
	if st.Unsent != 100 || st.Published != 0 || st.PublishFailures == 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestOutboxOverflowPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy    eventsync.OverflowPolicy
		wantFirst int
	}{{eventsync.DropOldest, 90}, {eventsync.DropNewest, 0}} {
		bus := t.Name() + "-" + map[eventsync.OverflowPolicy]string{0: "oldest", 1: "newest"}[tc.policy]
		g := newGate(bus, eventsync.DefaultKey)
		a := newReplica(t, bus, eventsync.Options{Adapter: g, OutboxSize: 10, Overflow: tc.policy, MaxBatch: 1})
		b := newReplica(t, bus, eventsync.Options{})
		// Wait until the publisher holds one batch in its retry loop, so that
		// what remains in the outbox is exactly what the policy decides on.
		ctx := context.Background()
		if err := a.svc.Emit(ctx, "progress", Progress{Percent: -1}); err != nil {
			t.Fatal(err)
		}
		waitStats(t, a.sync, "a failing publish", func(s eventsync.Stats) bool { return s.PublishFailures > 0 })
		for i := range 100 {
			if err := a.svc.Emit(ctx, "progress", Progress{Percent: i}); err != nil {
				t.Fatal(err)
			}
		}
		st := a.sync.Stats()
		if st.Dropped != 90 || st.QueueLength != 11 { // 10 in the outbox, 1 in flight
			t.Fatalf("%v: stats %+v", tc.policy, st)
		}
		g.open.Store(true)
		got := b.got.wait(t, 11)
		if p := got[1].Data.(Progress).Percent; p != tc.wantFirst {
			t.Fatalf("policy %v: first queued event kept is %d, want %d", tc.policy, p, tc.wantFirst)
		}
		st = waitStats(t, a.sync, "all published", func(s eventsync.Stats) bool { return s.Published == 11 })
		if st.Emitted != st.Published+st.Dropped+st.Unsent+uint64(st.QueueLength) {
			t.Fatalf("accounting does not add up: %+v", st)
		}
	}
}

func TestFilters(t *testing.T) {
	bus := t.Name()
	a := newReplica(t, bus, eventsync.Options{PublishFilter: func(path, event string) bool { return event != "patched" }})
	b := newReplica(t, bus, eventsync.Options{AcceptFilter: func(path, event string) bool { return event != "progress" }})
	ctx := context.Background()
	mustCreate(t, a.svc, ctx, "x")
	if _, err := a.svc.Patch(ctx, 1, map[string]any{"done": true}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Emit(ctx, "progress", Progress{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Remove(ctx, 1, nil); err != nil {
		t.Fatal(err)
	}
	got := b.got.wait(t, 2)
	if got[0].Name != "created" || got[1].Name != "removed" {
		t.Fatalf("filtered events: %v %v", got[0].Name, got[1].Name)
	}
	waitStats(t, b.sync, "accept filter", func(s eventsync.Stats) bool { return s.Filtered == 1 })
	if st := a.sync.Stats(); st.Filtered != 1 {
		t.Fatalf("publish filter stats: %+v", st)
	}
}

func TestErrNotReadyWhenSubscribeFails(t *testing.T) {
	app, _ := newApp(t)
	s, err := eventsync.Configure(app, eventsync.Options{Adapter: &failingSubscribe{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for s.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(s.Err(), errBrokerDown) {
		t.Fatalf("Err() = %v", s.Err())
	}
	select {
	case <-s.Ready():
		t.Fatal("Ready closed without a subscription")
	default:
	}
	if s.Type() != "custom" {
		t.Fatal(s.Type())
	}
}

type failingSubscribe struct{ eventsync.Adapter }

func (failingSubscribe) Subscribe(context.Context, func([]byte)) error { return errBrokerDown }
func (failingSubscribe) Close(context.Context) error                   { return nil }

// plainAdapter hides every optional interface of the adapter it wraps (the
// echo filter among them), so that echoes reach the Sync's decoder.
type plainAdapter struct{ eventsync.Adapter }

// A replica drops its own echo in every format. Only unsigned JSON can be
// recognised before decoding (its origin comes first); MsgPack, BSON and
// signed JSON rely on the check after decoding.
func TestEchoDroppedInEveryFormat(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ser    serializer.Serializer
		secret []byte
	}{
		{"json", serializer.JSON, nil}, {"msgpack", serializer.MsgPack, nil},
		{"bson", serializer.BSON, nil}, {"signed-json", serializer.JSON, []byte("k")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := t.Name()
			a := newReplica(t, bus, eventsync.Options{Serializer: tc.ser, Secret: tc.secret,
				Adapter: plainAdapter{memsync.New(memsync.Named(bus), eventsync.DefaultKey)}})
			b := newReplica(t, bus, eventsync.Options{Serializer: tc.ser, Secret: tc.secret})
			mustCreate(t, a.svc, context.Background(), "x")
			b.got.wait(t, 1)
			st := waitStats(t, a.sync, "the echo", func(s eventsync.Stats) bool { return s.Echoes == 1 })
			if st.Dispatched != 0 || len(a.got.snapshot()) != 1 {
				t.Fatalf("echo dispatched: %+v, listener saw %d events", st, len(a.got.snapshot()))
			}
		})
	}
}
