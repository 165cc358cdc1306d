package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/natssync/embedded"
	"github.com/eventsync/eventsync/internal/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Users, orders and a gateway in one process on an embedded NATS server:
// reads through the gateway name their instance, writes need the token, an
// order checks its user through the users proxy.
func TestGatewayInProcess(t *testing.T) {
	srv, err := embedded.Start(embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	var gw *Node
	for _, role := range []string{"users", "orders", "gateway"} {
		n, err := Start(ctx, role, srv.URL(), "test", log)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close(ctx)
		if role == "gateway" {
			gw = n
		}
	}
	handler, stop := Gateway(gw, "secret")
	defer stop()
	hs := httptest.NewServer(handler)
	defer hs.Close()
	waitFor(t, "the users and orders proxies", func() bool {
		return gw.App.Service("users") != nil && gw.App.Service("orders") != nil
	})
	do := func(method, path, body, token string) (int, string, http.Header) {
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, h := do("GET", "/api/users/1", "", ""); code != 200 || !strings.Contains(body, "ada") || h.Get("Served-By") == "" {
		t.Fatalf("GET /api/users/1: %d %s %v", code, body, h)
	}
	if code, body, _ := do("POST", "/api/users", `{"name":"grace"}`, ""); code != 401 {
		t.Fatalf("a write without the token: %d %s", code, body)
	}
	if code, body, _ := do("POST", "/api/users", `{"name":"grace"}`, "secret"); code != 201 {
		t.Fatalf("a write with the token: %d %s", code, body)
	}
	if code, body, _ := do("POST", "/api/orders", `{"userId":999,"item":"book"}`, "secret"); code != 400 || !strings.Contains(body, "no user 999") {
		t.Fatalf("an order for nobody: %d %s", code, body)
	}
	if code, body, _ := do("POST", "/api/orders", `{"userId":1,"item":"book"}`, "secret"); code != 201 {
		t.Fatalf("an order for ada: %d %s", code, body)
	}
	if code, body, _ := do("GET", "/api/nothing/1", "", ""); code != 404 {
		t.Fatalf("an unknown path: %d %s", code, body)
	}
	if code, body, _ := do("GET", "/", "", ""); code != 200 || !strings.Contains(body, "Members") {
		t.Fatalf("the page: %d", code)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// process is a role running as a process of its own.
type process struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func startProcess(t *testing.T, bin, role, uri, key string) *process {
	t.Helper()
	cmd := exec.Command(bin, "-role", role, "-uri", uri, "-key", key, "-token", "secret")
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	up := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := regexp.MustCompile(`http://\S+/`).FindString(sc.Text()); m != "" || strings.Contains(sc.Text(), " up") {
				select {
				case up <- m:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { p.kill(); cmd.Wait(); <-p.done })
	select {
	case p.url = <-up:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start", role)
	}
	return p
}

func (p *process) kill() { _ = p.cmd.Process.Signal(syscall.SIGKILL) }

// Two users processes and a gateway process on a real broker: 1,000 GETs
// through the gateway while one users process is killed with SIGKILL, with
// no failed call; both killed: 503 at once; one started again: 200 soon.
func TestProcessesFailover(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "distributed")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, b := range []struct{ name, env, def string }{
		{"nats", "EVENTSYNC_NATS_URL", "nats://127.0.0.1:4222"},
		{"redis", "EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379"},
	} {
		t.Run(b.name, func(t *testing.T) {
			uri := brokertest.URL(b.env, b.def)
			brokertest.Require(t, b.name, uri)
			key := adaptertest.UniqueKey("distributed")
			a := startProcess(t, bin, "users", uri, key)
			other := startProcess(t, bin, "users", uri, key)
			gw := startProcess(t, bin, "gateway", uri, key)
			get := func() (int, string) {
				resp, err := http.Get(gw.url + "api/users/1")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				return resp.StatusCode, resp.Header.Get("Served-By")
			}
			servedBy := map[string]int{}
			waitFor(t, "both users instances serving", func() bool {
				_, by := get()
				servedBy[by]++
				return len(servedBy) >= 2 && servedBy[""] == 0
			})
			failed := 0
			for i := range 1000 {
				if i == 300 {
					a.kill()
				}
				if code, _ := get(); code != 200 {
					failed++
				}
			}
			t.Logf("%s: 1,000 GETs with one users process killed at the 300th: %d failed", b.name, failed)
			if failed != 0 {
				t.Fatalf("%d calls failed", failed)
			}
			other.kill()
			<-other.done // its output closed: the process is gone (a call it took before dying would wait for the attempt's timeout)
			killed := time.Now()
			var code503 time.Duration
			waitFor(t, "503 with no users instance", func() bool {
				code, _ := get()
				if code == 503 {
					code503 = time.Since(killed)
					return true
				}
				return false
			})
			restarted := time.Now()
			startProcess(t, bin, "users", uri, key)
			var back time.Duration
			waitFor(t, "200 again", func() bool {
				code, _ := get()
				back = time.Since(restarted)
				return code == 200
			})
			t.Logf("%s: both killed: 503 after %v; one restarted: 200 after %v (from its start)", b.name, code503.Round(time.Millisecond), back.Round(time.Millisecond))
			if code503 > time.Second || back > 2*time.Second {
				t.Fatalf("503 after %v, 200 after %v", code503, back)
			}
		})
	}
}

// The gateway page in headless Chromium: a user created through the form
// is listed, and a member that leaves disappears from the members table.
func TestGatewayPageInBrowser(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		brokertest.Missing(t, "chromium (apt-get install chromium)", err)
	}
	srv, err := embedded.Start(embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	var nodes []*Node
	for _, role := range []string{"users", "users", "gateway"} {
		n, err := Start(ctx, role, srv.URL(), "browser", log)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close(ctx)
		nodes = append(nodes, n)
	}
	handler, stop := Gateway(nodes[2], "secret")
	defer stop()
	hs := httptest.NewServer(handler)
	defer hs.Close()
	waitFor(t, "the users proxy", func() bool { return nodes[2].App.Service("users") != nil })
	page := brokertest.StartNode(t, "gateway.js", hs.URL+"/", "secret", "grace hopper")
	_, line := page.Wait(t, "the user created through the page", func(l map[string]any) bool { return l["created"] == true })
	t.Logf("page: %v", line["log"])
	leaving := nodes[0].Reg.Instance()
	nodes[0].Close(ctx)
	page.Send(t, map[string]any{"cmd": "gone", "instance": leaving})
	page.Wait(t, "the member gone from the page", func(l map[string]any) bool { return l["gone"] == true })
}
