package registry_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/memsync"
	"github.com/eventsync/eventsync/registry"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(memberEnv); spec != "" { // a member process of TestMemberProcessKilled
		runMember(spec)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// fast are timings for tests on the in-process bus.
var fast = registry.Options{Interval: 100 * time.Millisecond, TTL: 300 * time.Millisecond}

// join joins a registry with opts on bus (unless opts has a URI or an
// Adapter), closes it at the end of the test, and waits until it is Ready.
func join(t testing.TB, bus string, opts registry.Options) *registry.Registry {
	t.Helper()
	if opts.URI == "" && opts.Adapter == nil {
		opts.URI = "mem://" + bus
	}
	r, err := registry.Join(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Close(ctx)
	})
	select {
	case <-r.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("registry not ready: %v", r.Err())
	}
	return r
}

func with(o registry.Options, app, instance string) registry.Options {
	o.App, o.Instance = app, instance
	return o
}

// changes records a registry's changes.
type changes struct {
	mu     sync.Mutex
	got    []registry.Change
	notify chan struct{}
}

func watch(r *registry.Registry) *changes {
	c := &changes{notify: make(chan struct{}, 1)}
	r.Watch(func(ch registry.Change) {
		c.mu.Lock()
		c.got = append(c.got, ch)
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	})
	return c
}

// waitFor waits until a change for instance of kind arrives, and returns
// it with the time it took from start.
func (c *changes) waitFor(t testing.TB, kind registry.ChangeKind, instance string, timeout time.Duration) registry.Change {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		for _, ch := range c.got {
			if ch.Kind == kind && ch.Member.Instance == instance {
				c.mu.Unlock()
				return ch
			}
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("no %s change for %s within %v; got %+v", kind, instance, timeout, c.snapshot())
		}
	}
}

func (c *changes) snapshot() []registry.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]registry.Change(nil), c.got...)
}

// waitMembers waits until r lists n members.
func waitMembers(t testing.TB, r *registry.Registry, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(r.Members()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s lists %d members, want %d", r.Instance(), len(r.Members()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func instances(ms []registry.Member) string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Instance)
	}
	return strings.Join(ids, ",")
}

// A joining instance has the full picture after one ask, with no fixed
// delay: the others answer it; the others see it online.
func TestJoinSeesEveryone(t *testing.T) {
	bus := t.Name()
	slow := registry.Options{Interval: time.Hour} // no heartbeat helps
	a := join(t, bus, with(slow, "users", "a"))
	b := join(t, bus, with(slow, "todos", "b"))
	ca, cb := watch(a), watch(b)
	c := join(t, bus, with(slow, "todos", "c"))
	waitMembers(t, c, 3, 5*time.Second)
	ca.waitFor(t, registry.Online, "c", 5*time.Second)
	cb.waitFor(t, registry.Online, "c", 5*time.Second)
	if got := instances(c.Members()); got != "b,c,a" {
		t.Fatalf("members %s, want b,c,a (sorted by app, instance)", got)
	}
	if got := instances(c.App("todos")); got != "b,c" {
		t.Fatalf("App(todos) = %s", got)
	}
}

// Services come from an App: paths, methods and declared events.
func TestServicesFromApp(t *testing.T) {
	bus := t.Name()
	app := eventsync.NewApp()
	if _, err := eventsync.Use(app, "api/v1/todos", todoService{}, eventsync.CustomEvent[int]("progress")); err != nil {
		t.Fatal(err)
	}
	join(t, bus, registry.Options{App: "todos", From: app})
	obs := join(t, bus, registry.Options{Observe: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := obs.WaitPath(ctx, "api/v1/todos")
	if err != nil {
		t.Fatal(err)
	}
	s := m.Services[0]
	if s.Path != "api/v1/todos" || strings.Join(s.Methods, ",") != "get,create" ||
		strings.Join(s.Events, ",") != "created,updated,patched,removed,progress" {
		t.Fatalf("service %+v", s)
	}
	if len(obs.Members()) != 1 {
		t.Fatalf("an observer is listed: %+v", obs.Members())
	}
	if _, err := obs.WaitApp(ctx, "nobody"); err == nil {
		t.Fatal("WaitApp for an absent app returned")
	}
}

type todoService struct{}

func (todoService) Get(context.Context, int, eventsync.Params) (string, error)       { return "", nil }
func (todoService) Create(context.Context, string, eventsync.Params) (string, error) { return "", nil }

// A graceful Close is seen at once (its goodbye), as "left".
func TestLeave(t *testing.T) {
	bus := t.Name()
	a := join(t, bus, with(registry.Options{}, "a", "a"))
	b := join(t, bus, with(registry.Options{}, "b", "b"))
	cb := watch(b)
	waitMembers(t, b, 2, 5*time.Second)
	start := time.Now()
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ch := cb.waitFor(t, registry.Offline, "a", 2*time.Second)
	if ch.Reason != registry.ReasonLeft {
		t.Fatalf("offline reason %q, want left", ch.Reason)
	}
	t.Logf("left seen after %v", time.Since(start))
	if st := b.Stats(); st.Left != 1 || st.Members != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// cut is an adapter whose publishes are lost while cut (a member whose
// heartbeats do not get through), as on a broker that drops them.
type cut struct {
	eventsync.Adapter
	cut atomic.Bool
}

func (c *cut) Publish(ctx context.Context, msgs ...[]byte) error {
	if c.cut.Load() {
		return nil // lost without a word
	}
	return c.Adapter.Publish(ctx, msgs...)
}

// A member whose messages are lost for longer than the TTL expires on its
// peers; once they get through again, a heartbeat with a description the
// peers no longer hold makes them ask, and it is back online.
func TestExpiryAndComeback(t *testing.T) {
	bus := t.Name()
	link := &cut{Adapter: memsync.New(memsync.Named(bus), registry.RegistryKey(""))}
	o := with(fast, "flaky", "flaky")
	o.Adapter = link
	join(t, bus, o)
	peer := join(t, bus, with(fast, "peer", "peer"))
	c := watch(peer)
	waitMembers(t, peer, 2, 5*time.Second) // flaky may have come online before the watch
	start := time.Now()
	link.cut.Store(true)
	ch := c.waitFor(t, registry.Offline, "flaky", 2*(fast.TTL+fast.Interval))
	took := time.Since(start)
	if ch.Reason != registry.ReasonExpired {
		t.Fatalf("reason %q, want expired", ch.Reason)
	}
	t.Logf("expired after %v (TTL %v, interval %v)", took, fast.TTL, fast.Interval)
	before := len(c.snapshot())
	link.cut.Store(false)
	deadline := time.After(5 * time.Second)
	for {
		got := c.snapshot()[before:]
		if len(got) > 0 && got[len(got)-1].Kind == registry.Online && got[len(got)-1].Member.Instance == "flaky" {
			break
		}
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("flaky not back online: %+v", c.snapshot())
		}
	}
}

// A changed description reaches every peer as "changed".
func TestUpdate(t *testing.T) {
	bus := t.Name()
	a := join(t, bus, with(fast, "a", "a"))
	b := join(t, bus, with(fast, "b", "b"))
	c := watch(b)
	waitMembers(t, b, 2, 5*time.Second) // a may have come online before the watch
	if err := a.Update(func(m *registry.Member) { m.Version = "2" }); err != nil {
		t.Fatal(err)
	}
	if ch := c.waitFor(t, registry.Changed, "a", 5*time.Second); ch.Member.Version != "2" {
		t.Fatalf("changed to %+v", ch.Member)
	}
}

// Limits: a description over the size limit is refused at Join and on
// receipt; members past MaxMembers are refused; every refusal is counted.
func TestLimits(t *testing.T) {
	bus := t.Name()
	big := registry.Options{App: "big", Meta: map[string]string{"x": strings.Repeat("x", 2000)}, MaxDescriptionBytes: 1000, URI: "mem://" + bus}
	if _, err := registry.Join(big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("Join with a description over the limit: %v", err)
	}
	small := join(t, bus, registry.Options{App: "small", MaxDescriptionBytes: 1000, MaxMembers: 2})
	big.MaxDescriptionBytes = 0
	join(t, bus, big)
	join(t, bus, registry.Options{App: "one"})
	join(t, bus, registry.Options{App: "two"})
	join(t, bus, registry.Options{App: "three"})
	deadline := time.Now().Add(5 * time.Second)
	for st := small.Stats(); st.OverLimit == 0 || st.Refused == 0; st = small.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(small.Members()); n != 3 { // itself and two peers
		t.Fatalf("%d members: %+v", n, small.Members())
	}
}

// Malformed messages are counted and logged, never fatal.
func TestMalformed(t *testing.T) {
	bus := t.Name()
	r := join(t, bus, registry.Options{App: "a"})
	raw := memsync.New(memsync.Named(bus), registry.RegistryKey(""))
	defer raw.Close(context.Background())
	for _, m := range []string{`nope`, `{}`, `{"t":"info","from":"x","seq":1,"member":{"instance":"y","app":"z"}}`,
		`{"t":"what","from":"x","seq":2}`, `{"t":"info","from":"q","seq":1,"member":"a string"}`} {
		if err := raw.Publish(context.Background(), []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	join(t, bus, registry.Options{App: "b"})
	waitMembers(t, r, 2, 5*time.Second)
	if st := r.Stats(); st.Malformed != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// With a Secret nobody without it can announce or evict a member, and a
// replayed heartbeat of a member that left does not bring it back.
func TestSecret(t *testing.T) {
	bus := t.Name()
	secret := []byte("s3cret")
	o := fast
	o.Secret = secret
	a := join(t, bus, with(o, "a", "a"))
	var captured [][]byte
	var mu sync.Mutex
	tap := memsync.New(memsync.Named(bus), registry.RegistryKey(""))
	defer tap.Close(context.Background())
	if err := tap.Subscribe(context.Background(), func(m []byte) {
		mu.Lock()
		captured = append(captured, m)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	c := watch(a)
	b := join(t, bus, with(o, "b", "b"))
	c.waitFor(t, registry.Online, "b", 5*time.Second)
	for _, forged := range []string{
		`{"t":"bye","from":"b","seq":99999,"reason":"left"}`,
		`{"t":"info","from":"evil","seq":1,"hash":"h","member":{"instance":"evil","app":"evil"}}`,
	} {
		if err := tap.Publish(context.Background(), []byte(forged)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, registry.Offline, "b", 5*time.Second)
	mu.Lock()
	replay := append([][]byte(nil), captured...)
	mu.Unlock()
	if err := tap.Publish(context.Background(), replay...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for st := a.Stats(); st.Forged < 2 || st.Replayed == 0; st = a.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := instances(a.Members()); got != "a" {
		t.Fatalf("members after forged and replayed messages: %s", got)
	}
}

// 1,000 members in one process converge: each sees them all. It takes
// 15 s of both cores (60 s and more under the race detector), so it runs
// in CI's scale step, without -race: EVENTSYNC_SCALE=1.
func TestThousandMembersConverge(t *testing.T) {
	if os.Getenv("EVENTSYNC_SCALE") == "" {
		t.Skip("set EVENTSYNC_SCALE=1 to run (CI's scale step does)")
	}
	_, took := joinMany(t, registry.Options{Interval: time.Minute, URI: "mem://" + t.Name()}, 1000, 120*time.Second)
	t.Logf("1000 members converged in %v", took)
}

// joinMany joins n members with opts (apps app0 to app9), closes them at
// the end of the test, and returns how long they took until each saw
// every other.
func joinMany(t testing.TB, opts registry.Options, n int, timeout time.Duration) ([]*registry.Registry, time.Duration) {
	t.Helper()
	start := time.Now()
	all := make([]*registry.Registry, 0, n)
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, r := range all {
			wg.Go(func() { _ = r.Close(context.Background()) })
		}
		wg.Wait()
	})
	for i := range n {
		opts.App = fmt.Sprintf("app%d", i%10)
		r, err := registry.Join(opts)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	deadline := time.Now().Add(timeout)
	for _, r := range all {
		for r.Stats().Members != n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s sees %d of %d peers", r.Instance(), r.Stats().Members, n-1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return all, time.Since(start)
}
