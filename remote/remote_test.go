package remote_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	_ "github.com/eventsync/eventsync/adapters/all"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/registry"
	"github.com/eventsync/eventsync/remote"
	"github.com/eventsync/eventsync/rest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type User struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// users is the service of the "users" app; slow makes Get and Create wait.
type users struct {
	mu      sync.Mutex
	byID    map[int]User
	created atomic.Int64
	slow    atomic.Int64 // ms
	seen    eventsync.Params
	creates chan error    // if set, gets every Create's outcome
	hold    chan struct{} // if set, a Get of id 77 waits until it is closed
	gets    atomic.Int64
}

func newUsers() *users { return &users{byID: map[int]User{1: {1, "ada"}}} }

func (u *users) pause(ctx context.Context) {
	if d := time.Duration(u.slow.Load()) * time.Millisecond; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
}

func (u *users) Find(ctx context.Context, p eventsync.Params) ([]User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.seen = p
	out := []User{}
	for i := 1; i <= 100; i++ {
		if x, ok := u.byID[i]; ok {
			out = append(out, x)
		}
	}
	return out, nil
}

func (u *users) Get(ctx context.Context, id int, p eventsync.Params) (User, error) {
	u.gets.Add(1)
	if id == 77 && u.hold != nil {
		<-u.hold
		return User{ID: 77}, nil
	}
	u.pause(ctx)
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if id == 401 {
		return User{}, eventsync.NotAuthenticated("who are you?")
	}
	x, ok := u.byID[id]
	if !ok {
		return User{}, eventsync.NotFound(fmt.Sprintf("no user %d", id), map[string]int{"id": id})
	}
	return x, nil
}

func (u *users) Create(ctx context.Context, x User, p eventsync.Params) (User, error) {
	u.pause(ctx)
	err := ctx.Err()
	if u.creates != nil {
		u.creates <- err
	}
	if err != nil {
		return User{}, err
	}
	u.created.Add(1)
	u.mu.Lock()
	defer u.mu.Unlock()
	x.ID = len(u.byID) + 1
	u.byID[x.ID] = x
	return x, nil
}

// instance is one app instance: an App, its registry membership and its
// Remote, on a mem bus.
type instance struct {
	app    *eventsync.App
	reg    *registry.Registry
	remote *remote.Remote
	users  *users
}

func start(t *testing.T, bus, name string, withUsers bool, opts remote.Options) *instance {
	t.Helper()
	return startOn(t, "mem://"+bus, "apps", name, withUsers, opts)
}

// startOn starts an instance on the broker at uri, key.
func startOn(t *testing.T, uri, key, name string, withUsers bool, opts remote.Options) *instance {
	t.Helper()
	in := &instance{app: eventsync.NewApp()}
	if withUsers {
		in.users = newUsers()
		if _, err := eventsync.Use(in.app, "users", in.users); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if in.reg, err = registryJoin(uri, key, name, in.app); err != nil {
		t.Fatal(err)
	}
	opts.Registry, opts.URI, opts.Key = in.reg, uri, key
	if in.remote, err = remote.New(in.app, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.remote.Close(context.Background())
		in.reg.Close(context.Background())
	})
	return in
}

func waitServing(t *testing.T, in *instance, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(in.reg.Serving(path)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d instances serve %s, want %d", len(in.reg.Serving(path)), path, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A typed proxy calls the remote service: results typed, errors of their
// class, params by the allowlist, hooks of the proxy run.
func TestTypedProxy(t *testing.T) {
	usersApp, _, svc := pair(t)
	var hooked atomic.Int64
	svc.Hooks(eventsync.Hooks{Before: []eventsync.Hook{func(ctx context.Context, hc *eventsync.HookContext) error {
		hooked.Add(1)
		return nil
	}}})
	ctx := context.Background()
	got, err := svc.Get(ctx, 1, eventsync.Params{"provider": "rest", "user": "mallory"})
	if u, _ := got.(User); err != nil || u.Name != "ada" {
		t.Fatalf("get: %#v, %v", got, err)
	}
	created, err := svc.Create(ctx, User{Name: "grace"}, nil)
	if u, _ := created.(User); err != nil || u.Name != "grace" || u.ID == 0 {
		t.Fatalf("create: %#v, %v", created, err)
	}
	list, err := svc.Find(ctx, eventsync.Params{"query": map[string]any{"x": "y"}, "user": "mallory"})
	if l, _ := list.([]User); err != nil || len(l) != 2 {
		t.Fatalf("find: %#v, %v", list, err)
	}
	if p := usersApp.users.seen; p["user"] != nil || p["query"] == nil {
		t.Fatalf("params that travelled: %v", p)
	}
	for id, class := range map[int]string{404: "NotFound", 401: "NotAuthenticated"} {
		_, err := svc.Get(ctx, id, nil)
		var e *eventsync.Error
		if !errors.As(err, &e) || e.Name != class {
			t.Fatalf("get %d: %v, want a %s", id, err, class)
		}
	}
	if hooked.Load() != 5 {
		t.Fatalf("the proxy's hooks ran %d times, want 5", hooked.Load())
	}
	if _, err := remote.Use[User](usersApp.remote, "users"); err == nil {
		t.Fatal("a local path was proxied")
	}
}

// With no live instance a proxy answers Unavailable at once; a gone
// instance is passed over for a live one, through the broker's "no
// responders".
func TestFailover(t *testing.T) {
	bus := adaptertest.UniqueKey("remote")
	a := start(t, bus, "users", true, remote.Options{})
	b := start(t, bus, "users", true, remote.Options{})
	orders := start(t, bus, "orders", false, remote.Options{})
	svc, err := remote.Use[User](orders.remote, "users")
	if err != nil {
		t.Fatal(err)
	}
	waitServing(t, orders, "users", 2)
	ctx := context.Background()
	a.remote.Close(ctx) // gone from the broker, still listed by the registry
	for range 10 {
		if _, err := svc.Get(ctx, 1, nil); err != nil {
			t.Fatalf("get with one instance gone: %v", err)
		}
	}
	if st := orders.remote.Stats(); st.NoResponders == 0 || st.Failures != 0 {
		t.Fatalf("stats %+v", st)
	}
	b.remote.Close(ctx)
	start := time.Now()
	_, err = svc.Get(ctx, 1, nil)
	var e *eventsync.Error
	if !errors.As(err, &e) || e.Code != 503 || time.Since(start) > time.Second {
		t.Fatalf("with no instance: %v after %v", err, time.Since(start))
	}
}

// A read that times out is tried on another instance; a write that times
// out is a Timeout saying it may have been applied, and it was applied once.
func TestTimeouts(t *testing.T) {
	bus := adaptertest.UniqueKey("remote")
	slow := start(t, bus, "users", true, remote.Options{})
	fast := start(t, bus, "users", true, remote.Options{})
	orders := start(t, bus, "orders", false, remote.Options{Timeout: 100 * time.Millisecond})
	svc, err := remote.Use[User](orders.remote, "users")
	if err != nil {
		t.Fatal(err)
	}
	waitServing(t, orders, "users", 2)
	slow.users.slow.Store(1000)
	ctx := context.Background()
	for range 4 { // round robin: some attempts go to the slow one first
		if _, err := svc.Get(ctx, 1, nil); err != nil {
			t.Fatalf("get: %v", err)
		}
	}
	if orders.remote.Stats().Retries == 0 {
		t.Fatal("no read was retried")
	}
	fast.users.slow.Store(1000)
	_, err = svc.Create(ctx, User{Name: "late"}, nil)
	var e *eventsync.Error
	if !errors.As(err, &e) || e.Name != "Timeout" {
		t.Fatalf("a write that timed out: %v", err)
	}
	if n := slow.users.created.Load() + fast.users.created.Load(); n > 1 {
		t.Fatalf("the write was applied %d times", n)
	}
}

// The caller's deadline travels: the serving instance's call ends with it.
func TestDeadlineTravels(t *testing.T) {
	usersApp, _, svc := pair(t)
	usersApp.users.slow.Store(2000)
	usersApp.users.creates = make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := svc.Create(ctx, User{Name: "x"}, nil)
	var e *eventsync.Error // the caller's deadline, or the server's Timeout answer at the same moment
	if !(errors.Is(err, context.DeadlineExceeded) || errors.As(err, &e) && e.Name == "Timeout") || time.Since(start) > time.Second {
		t.Fatalf("create past the caller's deadline: %v after %v", err, time.Since(start))
	}
	select {
	case err := <-usersApp.users.creates:
		if !errors.Is(err, context.DeadlineExceeded) || usersApp.users.created.Load() != 0 {
			t.Fatalf("the serving instance's call ended with %v, created %d", err, usersApp.users.created.Load())
		}
	case <-time.After(time.Second): // well before its own 2 s pause
		t.Fatal("the serving instance's call did not end with the caller's deadline")
	}
}

// Calls, errors, failover and deadlines on every broker with request and
// reply.
func TestBrokers(t *testing.T) {
	for _, b := range []struct{ name, env, def string }{
		{"redis", "EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379"},
		{"amqp", "EVENTSYNC_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"},
		{"nats", "EVENTSYNC_NATS_URL", "nats://127.0.0.1:4222"},
	} {
		t.Run(b.name, func(t *testing.T) {
			uri := brokertest.URL(b.env, b.def)
			brokertest.Require(t, b.name, uri)
			key := adaptertest.UniqueKey("remote")
			a := startOn(t, uri, key, "users", true, remote.Options{})
			bb := startOn(t, uri, key, "users", true, remote.Options{})
			orders := startOn(t, uri, key, "orders", false, remote.Options{})
			svc, err := remote.Use[User](orders.remote, "users")
			if err != nil {
				t.Fatal(err)
			}
			waitServing(t, orders, "users", 2)
			ctx := context.Background()
			if got, err := svc.Get(ctx, 1, nil); err != nil || got.(User).Name != "ada" {
				t.Fatalf("get: %v %v", got, err)
			}
			var e *eventsync.Error
			if _, err := svc.Get(ctx, 404, nil); !errors.As(err, &e) || e.Name != "NotFound" {
				t.Fatalf("get 404: %v", err)
			}
			// Events: the serving app's Sync publishes, the proxy's listener gets it once.
			for _, app := range []*eventsync.App{a.app, bb.app, orders.app} {
				s, err := eventsync.Configure(app, eventsync.Options{URI: uri, Key: key + ".events"})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close(context.Background()) })
				<-s.Ready()
			}
			created := make(chan eventsync.Event, 4)
			svc.On("created", func(ev eventsync.Event) { created <- ev })
			if _, err := svc.Create(ctx, User{Name: "event"}, nil); err != nil {
				t.Fatal(err)
			}
			select {
			case ev := <-created:
				if ev.Data.(User).Name != "event" || !ev.Remote {
					t.Fatalf("created event %+v", ev)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no created event at the proxy")
			}
			a.remote.Close(ctx)
			for range 6 {
				if _, err := svc.Get(ctx, 1, nil); err != nil {
					t.Fatalf("get with one instance gone: %v", err)
				}
			}
			bb.users.slow.Store(2000)
			dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			if _, err := svc.Get(dctx, 1, nil); err == nil {
				t.Fatal("a call past its deadline succeeded")
			}
			if st := orders.remote.Stats(); st.NoResponders == 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// The service events of a remote service reach the proxy's listeners,
// typed, once, through a Sync on the key the serving app syncs on; a call
// through the proxy emits nothing of its own, and nothing is sent back.
func TestEventsReachProxyListeners(t *testing.T) {
	usersApp, orders, svc := pair(t)
	syncBus := "mem://" + adaptertest.UniqueKey("events")
	for _, app := range []*eventsync.App{usersApp.app, orders.app} {
		s, err := eventsync.Configure(app, eventsync.Options{URI: syncBus, Key: "events"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		<-s.Ready()
	}
	atOrders, atUsers := make(chan eventsync.Event, 10), make(chan eventsync.Event, 10)
	svc.On("created", func(ev eventsync.Event) { atOrders <- ev })
	usersApp.app.Service("users").On("created", func(ev eventsync.Event) { atUsers <- ev })
	if _, err := svc.Create(context.Background(), User{Name: "linus"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		where string
		ch    chan eventsync.Event
	}{{"orders", atOrders}, {"users", atUsers}} {
		select {
		case ev := <-c.ch:
			if u, ok := ev.Data.(User); !ok || u.Name != "linus" {
				t.Fatalf("%s got %#v", c.where, ev.Data)
			}
			if hc := ev.Context; hc == nil || hc.Method != eventsync.MethodCreate || hc.Path != "users" {
				t.Fatalf("%s got the event without its hook context: %+v", c.where, hc)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s got no created event", c.where)
		}
	}
	// A second create: its event is the next one either side gets, so the
	// first came once.
	if _, err := svc.Create(context.Background(), User{Name: "ken"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan eventsync.Event{atOrders, atUsers} {
		select {
		case ev := <-ch:
			if ev.Data.(User).Name != "ken" {
				t.Fatalf("an event came twice: %#v", ev.Data)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the second event did not come")
		}
	}
}

// A gateway: untyped proxies for every discovered service, served over
// REST; a NotFound keeps its status, an unknown path is a 404, a known
// service without a live instance a 503 with Retry-After.
func TestGateway(t *testing.T) {
	bus := adaptertest.UniqueKey("remote")
	usersApp := start(t, bus, "users", true, remote.Options{})
	gw := start(t, bus, "gateway", false, remote.Options{})
	stop := gw.remote.ProxyAll()
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for gw.app.Service("users") == nil {
		if time.Now().After(deadline) {
			t.Fatal("no proxy for users")
		}
		time.Sleep(5 * time.Millisecond)
	}
	api, err := rest.New(gw.app, rest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	get := func(path string) (int, string, http.Header) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, h := get("/users/1"); code != 200 || !strings.Contains(body, `"name":"ada"`) || h.Get("Served-By") != usersApp.reg.Instance() {
		t.Fatalf("GET /users/1: %d %s, served by %q", code, body, h.Get("Served-By"))
	}
	if code, body, _ := get("/users/404"); code != 404 || !strings.Contains(body, `"className":"not-found"`) {
		t.Fatalf("GET /users/404: %d %s", code, body)
	}
	if code, _, _ := get("/nothing/1"); code != 404 {
		t.Fatalf("GET /nothing/1: %d", code)
	}
	usersApp.remote.Close(context.Background())
	if code, body, h := get("/users/1"); code != 503 || h.Get("Retry-After") == "" {
		t.Fatalf("GET /users/1 with no instance: %d %s %v", code, body, h)
	}
}

// Versions restricts calls to the instances it accepts; LeastInFlight
// spreads concurrent calls; Secret keeps callers without it out; Stats
// count calls and their latency.
func TestOptions(t *testing.T) {
	bus := adaptertest.UniqueKey("remote")
	secret := []byte("s3cret")
	v1 := startVersion(t, bus, "1.9", remote.Options{Secret: secret})
	v2 := startVersion(t, bus, "2.0", remote.Options{Secret: secret})
	orders := start(t, bus, "orders", false, remote.Options{Secret: secret, Balance: remote.LeastInFlight,
		Versions: func(v string) bool { return strings.HasPrefix(v, "2.") }})
	svc, err := remote.Use[User](orders.remote, "users")
	if err != nil {
		t.Fatal(err)
	}
	waitServing(t, orders, "users", 2)
	ctx := context.Background()
	for range 5 {
		if _, err := svc.Get(ctx, 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	if v1.remote.Stats().Served != 0 || v2.remote.Stats().Served != 5 {
		t.Fatalf("served by 1.9: %d, by 2.0: %d", v1.remote.Stats().Served, v2.remote.Stats().Served)
	}
	if st := orders.remote.Stats(); st.Calls != 5 || st.InFlight != 0 || st.P50 <= 0 || st.P99 < st.P50 {
		t.Fatalf("stats %+v", st)
	}

	intruder := start(t, bus, "intruder", false, remote.Options{Secret: []byte("guess")})
	isvc, err := remote.Use[User](intruder.remote, "users")
	if err != nil {
		t.Fatal(err)
	}
	waitServing(t, intruder, "users", 2)
	if _, err := isvc.Get(ctx, 1, nil); err == nil {
		t.Fatal("a caller without the secret was served")
	}
	if v1.remote.Stats().Forged+v2.remote.Stats().Forged == 0 {
		t.Fatal("the forged request was not counted")
	}
}

// startVersion starts a users instance of app version v.
func startVersion(t *testing.T, bus, v string, opts remote.Options) *instance {
	t.Helper()
	in := &instance{app: eventsync.NewApp(), users: newUsers()}
	if _, err := eventsync.Use(in.app, "users", in.users); err != nil {
		t.Fatal(err)
	}
	var err error
	in.reg, err = registry.Join(registry.Options{URI: "mem://" + bus, Key: "apps", App: "users", Version: v, From: in.app, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	opts.Registry, opts.URI, opts.Key = in.reg, "mem://"+bus, "apps"
	if in.remote, err = remote.New(in.app, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.remote.Close(context.Background())
		in.reg.Close(context.Background())
	})
	return in
}

// Health answers 200 while calls are answered (a NotFound is an answer),
// 503 once they are not.
func TestHealth(t *testing.T) {
	usersApp, orders, svc := pair(t)
	status := func() int {
		rec := httptest.NewRecorder()
		orders.remote.Health().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		return rec.Code
	}
	ctx := context.Background()
	svc.Get(ctx, 404, nil)
	if code := status(); code != 200 {
		t.Fatalf("after a NotFound: %d", code)
	}
	usersApp.remote.Close(ctx)
	svc.Get(ctx, 1, nil)
	if code := status(); code != 200 {
		t.Fatalf("after one unanswered call: %d", code)
	}
	svc.Get(ctx, 1, nil)
	svc.Get(ctx, 1, nil)
	if code := status(); code != 503 {
		t.Fatalf("with no instance: %d", code)
	}
}

// registryJoin joins the registry with a short heartbeat, for tests.
func registryJoin(uri, key, name string, app *eventsync.App) (*registry.Registry, error) {
	return registry.Join(registry.Options{URI: uri, Key: key, App: name, From: app, Interval: 100 * time.Millisecond})
}

// pair starts a users instance and an orders instance with a typed proxy
// of users, and waits until the proxy has an instance to call.
func pair(t *testing.T) (usersApp, orders *instance, svc *eventsync.Service) {
	t.Helper()
	bus := adaptertest.UniqueKey("remote")
	usersApp = start(t, bus, "users", true, remote.Options{})
	orders = start(t, bus, "orders", false, remote.Options{})
	svc, err := remote.Use[User](orders.remote, "users")
	if err != nil {
		t.Fatal(err)
	}
	waitServing(t, orders, "users", 1)
	return usersApp, orders, svc
}

// LeastInFlight sends calls to the instance with the fewest calls of this
// caller running: while one call holds an instance, the next ones all go
// to the other (round robin would alternate).
func TestLeastInFlight(t *testing.T) {
	bus := adaptertest.UniqueKey("remote")
	a := start(t, bus, "users", true, remote.Options{})
	b := start(t, bus, "users", true, remote.Options{})
	orders := start(t, bus, "orders", false, remote.Options{Balance: remote.LeastInFlight})
	svc, err := remote.Use[User](orders.remote, "users")
	if err != nil {
		t.Fatal(err)
	}
	waitServing(t, orders, "users", 2)
	hold := make(chan struct{})
	a.users.hold, b.users.hold = hold, hold
	ctx := context.Background()
	held := make(chan error, 1)
	go func() { _, err := svc.Get(ctx, 77, nil); held <- err }()
	deadline := time.Now().Add(5 * time.Second)
	for a.users.gets.Load()+b.users.gets.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the held call did not arrive")
		}
		time.Sleep(time.Millisecond)
	}
	busy, idle := a, b
	if b.users.gets.Load() == 1 {
		busy, idle = b, a
	}
	for range 6 {
		if _, err := svc.Get(ctx, 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	close(hold)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if busy.users.gets.Load() != 1 || idle.users.gets.Load() != 6 {
		t.Fatalf("the busy instance got %d calls, the idle one %d", busy.users.gets.Load(), idle.users.gets.Load())
	}
}
