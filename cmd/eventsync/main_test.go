package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/cputime"
	"github.com/eventsync/eventsync/internal/synctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startTail runs tail with args and returns once it listens: its output,
// and its result when it ends.
func startTail(t *testing.T, args ...string) (*synctest.Buffer, <-chan error) {
	t.Helper()
	var out, errOut synctest.Buffer
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), append([]string{"tail"}, args...), &out, &errOut) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errOut.String(), "listening") {
		if time.Now().After(deadline) {
			t.Fatalf("tail did not start: %s", errOut.String())
		}
		time.Sleep(time.Millisecond)
	}
	return &out, done
}

func TestTailAndPublish(t *testing.T) {
	ctx := context.Background()
	var errOut synctest.Buffer
	out, tailDone := startTail(t, "--uri", "mem://cli", "--key", "k", "--count", "3", "--json")
	var pubOut bytes.Buffer
	err := run(ctx, []string{"publish", "--uri", "mem://cli", "--key", "k", "--path", "todos", "--event", "created",
		"--data", `{"id":1,"title":"x"}`, "--count", "2"}, &pubOut, &errOut)
	if err != nil || !strings.Contains(pubOut.String(), "published 2 todos created") {
		t.Fatalf("publish: %v %s", err, pubOut.String())
	}
	if err := run(ctx, []string{"publish", "--uri", "mem://cli", "--key", "k", "--path", "todos", "--event", "progress", "--data", `5`}, &pubOut, &errOut); err != nil {
		t.Fatalf("publish custom event: %v", err)
	}
	if err := <-tailDone; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("tail printed %d lines: %s", len(lines), out.String())
	}
	var first, last tailLine
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[2]), &last)
	if first.Event != "created" || first.Path != "todos" || first.Origin == "" || first.Data.(map[string]any)["title"] != "x" {
		t.Fatalf("first line: %s", lines[0])
	}
	if last.Event != "progress" || last.Data != 5.0 {
		t.Fatalf("last line: %s", lines[2])
	}
}

func TestBench(t *testing.T) {
	for _, raw := range []bool{false, true} {
		// A window below the run's size: senders wait for arrivals.
		args := []string{"bench", "--uri", "mem://bench", "--n", "20000", "--publishers", "2", "--window", "2048", "--json"}
		if raw {
			args = append(args, "--raw")
		}
		var out, errOut synctest.Buffer
		if err := run(context.Background(), args, &out, &errOut); err != nil {
			t.Fatal(err)
		}
		var res benchResult
		if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		if res.Events != 20000 || res.Lost != 0 || res.EventsPerSec <= 0 || res.P99us < res.P50us {
			t.Fatalf("bench result: %+v", res)
		}
		if _, ok := cputime.Process(); ok && res.CPUNsPerEvent <= 0 {
			t.Fatalf("bench result without the CPU per event: %+v", res)
		}
	}
}

// Without --key, bench runs on a key of its own: a replica tailing the
// default key gets none of its events (the marker published after the run
// is the first thing it sees, and memsync delivers in order).
func TestBenchKeepsOffTheDefaultKey(t *testing.T) {
	ctx := context.Background()
	var errOut synctest.Buffer
	out, tailDone := startTail(t, "--uri", "mem://benchkey", "--count", "1", "--json")
	for _, raw := range []string{"--raw=false", "--raw=true"} {
		var benchOut bytes.Buffer
		if err := run(ctx, []string{"bench", "--uri", "mem://benchkey", "--n", "100", raw}, &benchOut, &errOut); err != nil {
			t.Fatal(err)
		}
	}
	var pubOut bytes.Buffer
	if err := run(ctx, []string{"publish", "--uri", "mem://benchkey", "--path", "marker", "--event", "created", "--data", `1`}, &pubOut, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := <-tailDone; err != nil {
		t.Fatal(err)
	}
	var first tailLine
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &first); err != nil || first.Path != "marker" {
		t.Fatalf("the default key's first message is not the marker (%v): %s", err, out.String())
	}
}

func TestBenchRounds(t *testing.T) {
	var out, errOut synctest.Buffer
	args := []string{"bench", "--uri", "mem://rounds", "--n", "2000", "--rate", "20000", "--rounds", "2", "--json"}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var res roundsResult
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(res.Eventsync) != 2 || len(res.Raw) != 2 || len(res.P99Ratio) != 2 || len(res.RateRatio) != 2 {
		t.Fatalf("rounds result: %+v", res)
	}
	for i := range 2 {
		es, raw := res.Eventsync[i], res.Raw[i]
		if es.Mode != "eventsync" || raw.Mode != "raw" || es.Lost != 0 || raw.Lost != 0 || es.Events != 2000 || raw.Events != 2000 {
			t.Fatalf("round %d: %+v / %+v", i, es, raw)
		}
		if want := es.P99us / max(raw.P99us, 1); res.P99Ratio[i] != want {
			t.Fatalf("round %d: p99 ratio %v, want %v", i, res.P99Ratio[i], want)
		}
	}
	var text synctest.Buffer
	if err := run(context.Background(), []string{"bench", "--uri", "mem://rounds", "--n", "500", "--rounds", "2"}, &text, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "eventsync/raw within a round, median: p99 ") {
		t.Fatalf("no summary line: %s", text.String())
	}
}

// TestBenchAgainstFeathers runs feathers-sync 3.1.1's bench script after
// eventsync's run on the same Redis, as --feathers does, and checks that
// both results and their ratio come back; --feathers refuses the modes it
// cannot compare.
func TestBenchAgainstFeathers(t *testing.T) {
	uri := brokertest.URL("EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379")
	brokertest.Require(t, "Redis", uri)
	dir, _ := brokertest.NodeDir(t)
	var out, errOut synctest.Buffer
	args := []string{"bench", "--uri", uri, "--key", "bench-feathers", "--n", "2000", "--publishers", "2", "--feathers", filepath.Join(dir, "bench.js"), "--json"}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var res againstFeathers
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	es, node := res.Eventsync, res.FeathersSync
	if es.Mode != "eventsync" || node.Mode != "feathers-sync" || es.Events != 2000 || node.Events != 2000 || es.Lost != 0 || node.Lost != 0 {
		t.Fatalf("against feathers-sync: %+v", res)
	}
	if want := es.EventsPerSec / node.EventsPerSec; node.EventsPerSec <= 0 || res.RateRatio != want {
		t.Fatalf("rate ratio %v, want %v: %+v", res.RateRatio, want, res)
	}
	if err := run(context.Background(), []string{"bench", "--uri", uri, "--raw", "--feathers", "x.js"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--feathers") {
		t.Fatalf("--feathers with --raw: %v", err)
	}
}

func TestFloor(t *testing.T) {
	var out, errOut synctest.Buffer
	if err := run(context.Background(), []string{"floor", "--n", "2000", "--rate", "20000", "--json"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var res benchResult
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if res.Mode != "floor" || res.Events != 2000 || res.Lost != 0 || res.P50us <= 0 || res.P99us < res.P50us {
		t.Fatalf("floor result: %+v", res)
	}
	if err := run(context.Background(), []string{"floor", "--rate", "0"}, &out, &errOut); err == nil {
		t.Fatal("floor accepted --rate 0")
	}
}

func TestUnreachableBrokerFailsPromptlyWithoutPassword(t *testing.T) {
	for _, cmd := range []string{"tail", "publish", "bench"} {
		args := []string{cmd, "--uri", "redis://:hunter2@127.0.0.1:1/?dial_timeout=100ms", "--timeout", "1s", "--path", "todos", "--n", "10"}
		if cmd == "tail" {
			args = args[:5]
		}
		var out, errOut synctest.Buffer
		start := time.Now()
		err := run(context.Background(), args, &out, &errOut)
		if err == nil {
			t.Fatalf("%s against a dead broker succeeded", cmd)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s took %v to give up", cmd, time.Since(start))
		}
		all := err.Error() + out.String() + errOut.String()
		if strings.Contains(all, "hunter2") {
			t.Fatalf("%s printed the password: %s", cmd, all)
		}
	}
	if err := run(context.Background(), []string{"bogus"}, &synctest.Buffer{}, &synctest.Buffer{}); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// register keeps an instance listed until its context ends, then leaves;
// members lists it (--json), and --watch prints its arrival and departure.
func TestRegisterAndMembers(t *testing.T) {
	uri := "mem://cli-registry"
	watchCtx, stopWatch := context.WithCancel(context.Background())
	var watchOut, watchErr synctest.Buffer
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- run(watchCtx, []string{"members", "--uri", uri, "--key", "k", "--watch", "--json"}, &watchOut, &watchErr)
	}()
	regCtx, stopReg := context.WithCancel(context.Background())
	var regOut, regErr synctest.Buffer
	regDone := make(chan error, 1)
	go func() {
		regDone <- run(regCtx, []string{"register", "--uri", uri, "--key", "k", "--app", "billing", "--version", "1.2",
			"--addr", "http://10.0.0.9", "--meta", "zone=a", "--service", "invoices", "--interval", "100ms"}, &regOut, &regErr)
	}()
	synctest.WaitFor(t, 10*time.Second, "registered", func() bool { return strings.Contains(regErr.String(), "registered") })
	instance := strings.TrimSpace(regOut.String())

	var out, errOut synctest.Buffer
	if err := run(context.Background(), []string{"members", "--uri", uri, "--key", "k", "--json", "--timeout", "300ms"}, &out, &errOut); err != nil {
		t.Fatalf("members: %v: %s", err, errOut.String())
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out.String()), &listed); err != nil || len(listed) != 1 {
		t.Fatalf("members --json: %v: %s", err, out.String())
	}
	for _, field := range []string{"instance", "app", "version", "addr", "meta", "services", "lastSeen"} {
		if _, ok := listed[0][field]; !ok {
			t.Fatalf("members --json lacks %q: %s", field, out.String())
		}
	}
	if listed[0]["instance"] != instance || listed[0]["app"] != "billing" {
		t.Fatalf("listed %v, registered %s", listed[0], instance)
	}

	stopReg()
	if err := <-regDone; err != nil {
		t.Fatalf("register: %v", err)
	}
	synctest.WaitFor(t, 10*time.Second, "offline in --watch", func() bool { return strings.Contains(watchOut.String(), `"offline"`) })
	stopWatch()
	if err := <-watchDone; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(watchOut.String()), "\n")
	var first, last map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if first["event"] != "online" || last["event"] != "offline" || last["reason"] != "left" || last["instance"] != instance || last["app"] != "billing" {
		t.Fatalf("--watch printed:\n%s", watchOut.String())
	}
}
