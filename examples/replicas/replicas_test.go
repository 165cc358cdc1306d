package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync/internal/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startCluster(t *testing.T) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), Config{Replicas: 3}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// A todo posted to replica 1 arrives on replica 3's event stream, marked as
// synced from replica 1.
func TestTodoReachesOtherReplicaStream(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.Replicas[2].URL+"events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" { // subscribed once the headers are out
		t.Fatalf("stream did not open: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	post, err := http.Post(c.Replicas[0].URL+"todos", "application/json", strings.NewReader(`{"title":"milk"}`))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != 201 {
		t.Fatalf("POST: %s", post.Status)
	}
	var event string
	for lines.Scan() {
		line := lines.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			var ev struct {
				Data   Todo   `json:"data"`
				Origin string `json:"origin"`
				Remote bool   `json:"remote"`
			}
			if err := json.Unmarshal([]byte(v), &ev); err != nil {
				t.Fatal(err)
			}
			if event != "todos created" || ev.Data.Title != "milk" || !ev.Remote || ev.Origin != c.Replicas[0].Sync.ReplicaID() {
				t.Fatalf("event %s %+v", event, ev)
			}
			return
		}
	}
	t.Fatalf("stream ended: %v", lines.Err())
}

func TestHealthAndBadInput(t *testing.T) {
	c := startCluster(t)
	resp, err := http.Get(c.Replicas[1].URL + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Live bool   `json:"live"`
		Type string `json:"type"`
	}
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != 200 || !h.Live || h.Type != "nats" {
		t.Fatalf("healthz: %s %+v", resp.Status, h)
	}
	for _, body := range []string{`{"title":""}`, `not json`} {
		resp, err := http.Post(c.Replicas[0].URL+"todos", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("POST %s: %s", body, resp.Status)
		}
	}
}

// The browser test: headless Chromium opens replicas 1 and 3, adds a todo on
// 1's page and sees it on 3's page without a reload; the screenshot is kept
// in testdata/ (CI keeps it as an artifact of the run).
func TestBrowser(t *testing.T) {
	dir, node := brokertest.NodeDir(t)
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		brokertest.Missing(t, "chromium (apt-get install chromium)", err)
	}
	c := startCluster(t)
	shot, _ := filepath.Abs(filepath.Join("testdata", "browser.png"))
	os.MkdirAll(filepath.Dir(shot), 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "browser.js"), c.Replicas[0].URL, c.Replicas[2].URL, shot, "walk the dog")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser test: %v\n%s", err, out.String())
	}
	t.Log(strings.TrimSpace(out.String()))
	if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
		t.Fatalf("no screenshot: %v", err)
	}
}

// A Feathers client (socket.io-client with @feathersjs/socketio-client) on
// replica 3 sees a todo that another Feathers client created through
// replica 1, and the create's answer carries the todo.
func TestFeathersClientsOnTwoReplicas(t *testing.T) {
	c := startCluster(t)
	watcher := brokertest.StartNode(t, "socketio.js", "client", strings.TrimSuffix(c.Replicas[2].URL, "/"), `{}`)
	watcher.Wait(t, "watcher connected", func(l map[string]any) bool { return l["connected"] == true })
	creator := brokertest.StartNode(t, "socketio.js", "client", strings.TrimSuffix(c.Replicas[0].URL, "/"), `{}`)
	creator.Wait(t, "creator connected", func(l map[string]any) bool { return l["connected"] == true })
	creator.Send(t, map[string]any{"cmd": "call", "ref": 1, "path": "todos", "method": "create", "args": []any{map[string]any{"title": "over socket.io"}}})
	_, answer := creator.Wait(t, "create answered", func(l map[string]any) bool { return l["ref"] == 1.0 })
	if r, _ := answer["result"].(map[string]any); r["title"] != "over socket.io" {
		t.Fatalf("create answered %v", answer)
	}
	watcher.Wait(t, "the event on replica 3", func(l map[string]any) bool {
		d, _ := l["data"].(map[string]any)
		return l["event"] == "todos created" && d["title"] == "over socket.io"
	})
}
