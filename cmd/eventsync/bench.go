package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/cputime"
	"github.com/eventsync/eventsync/internal/inflight"
)

// benchResult is what --json prints.
type benchResult struct {
	Mode         string  `json:"mode"`
	Events       int     `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSec"`
	P50us        float64 `json:"p50us"`
	P99us        float64 `json:"p99us"`
	Lost         int     `json:"lost"`
	// CPUNsPerEvent is the process's CPU time (user and system) per event
	// that arrived, over the same span as Seconds; 0 where the platform
	// does not tell. The broker's CPU is not in it.
	CPUNsPerEvent float64 `json:"cpuNsPerEvent,omitempty"`
}

// BenchRecord is the record bench sends: a send time for latency and padding
// to the requested size.
type BenchRecord struct {
	SentNs int64  `json:"sentNs"`
	Seq    int    `json:"seq"`
	Pad    string `json:"pad"`
}

// benchService lets bench emit "created" through a real service call path.
type benchService struct{}

// Create returns r; the App emits "created" with it.
func (benchService) Create(ctx context.Context, r BenchRecord, p eventsync.Params) (BenchRecord, error) {
	return r, nil
}

func bench(ctx context.Context, c *common, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	n := fs.Int("n", 100_000, "events to send")
	size := fs.Int("size", 256, "approximate bytes per event on the wire")
	publishers := fs.Int("publishers", 1, "emitting goroutines")
	raw := fs.Bool("raw", false, "bare adapters: no App, Sync or serializer")
	rate := fs.Float64("rate", 0, "events/s to emit at, evenly spaced (0: as fast as possible); for latency at a steady rate")
	window := fs.Int("window", 50_000, "as fast as possible: events in flight (emitted, not yet arrived) at most; 0: no bound")
	rounds := fs.Int("rounds", 1, "from 2: run eventsync and --raw alternately, this many times each, and compare them round by round")
	feathers := fs.String("feathers", "", "path of nodetest/bench.js: after eventsync, run feathers-sync 3.1.1 on the same broker with the same --n and --publishers (records of about 256 bytes whatever --size says; needs node and `npm ci` in that folder) and compare")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, c, args, stderr); err != nil {
		return err
	}
	keyGiven := false
	fs.Visit(func(f *flag.Flag) { keyGiven = keyGiven || f.Name == "key" })
	if !keyGiven {
		// A key of its own: on the default key, live replicas would get the
		// run's events and the run theirs (--raw counts any message).
		c.key = fmt.Sprintf("eventsync-bench-%d", time.Now().UnixNano())
	}
	if *n < 1 || *publishers < 1 || *rounds < 1 {
		return errors.New("--n, --publishers and --rounds must be positive")
	}
	if *feathers != "" && (*raw || *rounds > 1 || *rate > 0) {
		return errors.New("--feathers compares one full-speed run: not with --raw, --rounds or --rate")
	}
	once := func(raw bool) (benchResult, error) {
		mode, run, win := "eventsync", benchSync, *window
		if raw {
			mode, run, win = "raw", benchRaw, 0 // the bare adapter's publishing holds back by itself
		}
		m := newMeter(*n, *rate, win)
		defer m.sleeper.close()
		err := run(ctx, c, m, *size, *publishers, stderr)
		return m.result(mode), err
	}
	if *rounds > 1 {
		return benchRounds(*rounds, once, *asJSON, stdout)
	}
	res, err := once(*raw)
	if err != nil {
		return err
	}
	if *feathers != "" {
		node, err := benchFeathers(ctx, *feathers, c.uri, *n, *publishers)
		if err != nil {
			return err
		}
		return printAgainstFeathers(stdout, res, node, *asJSON)
	}
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printResult(stdout, res)
	}
	return nil
}

func printResult(w io.Writer, res benchResult) {
	cpu := ""
	if res.CPUNsPerEvent > 0 {
		cpu = fmt.Sprintf(", cpu %.1fµs/event", res.CPUNsPerEvent/1000)
	}
	fmt.Fprintf(w, "%s: %d events in %.2fs: %.0f events/s, p50 %.0fµs, p99 %.0fµs, lost %d%s\n",
		res.Mode, res.Events, res.Seconds, res.EventsPerSec, res.P50us, res.P99us, res.Lost, cpu)
}

// benchFeathers runs feathers-sync's bench script (nodetest/bench.js: two
// Feathers apps with feathers-sync in one Node process, Create with
// publishers calls in flight, the same figures as bench) and reads the JSON
// line it prints last.
func benchFeathers(ctx context.Context, script, uri string, n, publishers int) (benchResult, error) {
	cmd := exec.CommandContext(ctx, "node", filepath.Base(script), uri, strconv.Itoa(n), strconv.Itoa(publishers))
	cmd.Dir = filepath.Dir(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return benchResult{}, fmt.Errorf("feathers-sync bench (%s): %w: %s", script, err, bytes.TrimSpace(stderr.Bytes()))
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	var res benchResult
	if err := json.Unmarshal(lines[len(lines)-1], &res); err != nil {
		return benchResult{}, fmt.Errorf("feathers-sync bench (%s) printed no result: %w: %q", script, err, out)
	}
	return res, nil
}

// againstFeathers is what --feathers --json prints.
type againstFeathers struct {
	Eventsync    benchResult `json:"eventsync"`
	FeathersSync benchResult `json:"feathersSync"`
	RateRatio    float64     `json:"rateRatio"` // eventsync's events/s over feathers-sync's
}

func printAgainstFeathers(w io.Writer, es, node benchResult, asJSON bool) error {
	out := againstFeathers{Eventsync: es, FeathersSync: node, RateRatio: es.EventsPerSec / max(node.EventsPerSec, 1e-9)}
	if asJSON {
		b, _ := json.Marshal(out)
		fmt.Fprintf(w, "%s\n", b)
		return nil
	}
	printResult(w, es)
	printResult(w, node)
	fmt.Fprintf(w, "eventsync/feathers-sync: %.1fx the events/s\n", out.RateRatio)
	return nil
}

// roundsResult is what --rounds --json prints: every run, and per round
// eventsync's figures over the bare adapters' of the same round.
type roundsResult struct {
	Eventsync []benchResult `json:"eventsync"`
	Raw       []benchResult `json:"raw"`
	P99Ratio  []float64     `json:"p99Ratio"`
	RateRatio []float64     `json:"rateRatio"`
}

// benchRounds runs eventsync and the bare adapters alternately. On a machine
// whose speed drifts from minute to minute (BENCHMARKS.md: p99 at a steady
// rate varied 10x within an hour), a ratio taken within one round means more
// than two figures taken apart; the summary gives each ratio's median and
// range over the rounds.
func benchRounds(rounds int, once func(raw bool) (benchResult, error), asJSON bool, stdout io.Writer) error {
	var out roundsResult
	for range rounds {
		for _, raw := range []bool{false, true} {
			res, err := once(raw)
			if err != nil {
				return err
			}
			if raw {
				out.Raw = append(out.Raw, res)
			} else {
				out.Eventsync = append(out.Eventsync, res)
			}
			if !asJSON {
				printResult(stdout, res)
			}
		}
		es, bare := out.Eventsync[len(out.Eventsync)-1], out.Raw[len(out.Raw)-1]
		out.P99Ratio = append(out.P99Ratio, es.P99us/max(bare.P99us, 1))
		out.RateRatio = append(out.RateRatio, es.EventsPerSec/max(bare.EventsPerSec, 1))
	}
	if asJSON {
		b, _ := json.Marshal(out)
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	for _, mode := range []struct {
		name string
		runs []benchResult
	}{{"eventsync", out.Eventsync}, {"raw", out.Raw}} {
		p50 := collect(mode.runs, func(r benchResult) float64 { return r.P50us })
		p99 := collect(mode.runs, func(r benchResult) float64 { return r.P99us })
		rate := collect(mode.runs, func(r benchResult) float64 { return r.EventsPerSec })
		fmt.Fprintf(stdout, "%s, median of %d rounds: %.0f events/s, p50 %.0fµs, p99 %.0fµs (range %.0f-%.0f)\n",
			mode.name, rounds, median(rate), median(p50), median(p99), p99[0], p99[len(p99)-1])
	}
	p99, rate := slices.Sorted(slices.Values(out.P99Ratio)), slices.Sorted(slices.Values(out.RateRatio))
	fmt.Fprintf(stdout, "eventsync/raw within a round, median: p99 %.2f (range %.2f-%.2f), events/s %.2f (range %.2f-%.2f)\n",
		median(p99), p99[0], p99[len(p99)-1], median(rate), rate[0], rate[len(rate)-1])
	return nil
}

// collect returns f of each result, sorted.
func collect(runs []benchResult, f func(benchResult) float64) []float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v
}

// median of sorted, non-empty v.
func median(v []float64) float64 {
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// meter collects arrival latencies until n arrived or it is stopped.
type meter struct {
	n       int
	rate    float64          // events/s to pace the sender at; 0: no pacing
	window  *inflight.Window // without pacing, the bound on events in flight; nil: none
	pacing  sync.Mutex       // holds sleeper
	sleeper *sleeper         // with pacing, waits for each event's time
	mu      sync.Mutex
	arrived []time.Duration
	done    chan struct{}
	start   time.Time
	end     time.Time
	cpu     [2]time.Duration // process CPU time at start and end
	cpuOK   bool
}

func newMeter(n int, rate float64, window int) *meter {
	m := &meter{n: n, rate: rate, arrived: make([]time.Duration, 0, n), done: make(chan struct{})}
	if window > 0 {
		m.window = inflight.New(uint64(window))
	}
	if rate > 0 {
		m.sleeper = newSleeper()
	}
	return m
}

func (m *meter) arrive(sentNs int64) {
	lat := time.Duration(time.Now().UnixNano() - sentNs)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.arrived) >= m.n {
		return
	}
	m.arrived = append(m.arrived, lat)
	if m.window != nil {
		m.window.Arrived()
	}
	if len(m.arrived) == m.n {
		m.end = time.Now()
		m.cpu[1], m.cpuOK = cputime.Process()
		close(m.done)
	}
}

func (m *meter) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.arrived)
}

// wait waits for every event, printing progress to stderr each second; it
// gives up when nothing arrives for 10 seconds.
func (m *meter) wait(ctx context.Context, stderr io.Writer) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, idle := 0, 0
	for {
		select {
		case <-m.done:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			got := m.count()
			fmt.Fprintf(stderr, "bench: %d/%d arrived\n", got, m.n)
			if got == last {
				if idle++; idle >= 10 {
					return
				}
			} else {
				last, idle = got, 0
			}
		}
	}
}

func (m *meter) result(mode string) benchResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	end := m.end
	if end.IsZero() { // not all arrived: up to now
		end = time.Now()
		m.cpu[1], m.cpuOK = cputime.Process()
	}
	lat := slices.Clone(m.arrived)
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds())
	}
	secs := end.Sub(m.start).Seconds()
	res := benchResult{Mode: mode, Events: m.n, Seconds: secs, EventsPerSec: float64(len(lat)) / secs,
		P50us: pct(0.50), P99us: pct(0.99), Lost: m.n - len(lat)}
	if m.cpuOK && len(lat) > 0 {
		res.CPUNsPerEvent = float64(m.cpu[1]-m.cpu[0]) / float64(len(lat))
	}
	return res
}

// begin starts the clocks: the wall clock and the process's CPU time.
func (m *meter) begin() {
	m.start = time.Now()
	m.cpu[0], _ = cputime.Process()
}

// pace waits until event i is due at the meter's rate or, without a rate,
// until it fits in the window (see package inflight).
func (m *meter) pace(i int) {
	switch {
	case m.rate > 0:
		m.pacing.Lock() // one sleeper: senders wait their turn, in schedule order
		defer m.pacing.Unlock()
		m.sleeper.sleep(time.Until(m.start.Add(time.Duration(float64(i) / m.rate * float64(time.Second)))))
	case m.window != nil:
		m.window.Admit(1)
	}
}

// stop releases the senders the window holds back: the run is over.
func (m *meter) stop() {
	if m.window != nil {
		m.window.Stop()
	}
}

// split runs fn(i) for i in [0,n) on p goroutines.
func split(n, p int, fn func(i int)) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range p {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

func benchSync(ctx context.Context, c *common, m *meter, size, publishers int, stderr io.Writer) error {
	var syncs []*eventsync.Sync
	defer func() {
		for _, s := range syncs {
			s.Close(context.Background())
		}
	}()
	var svcs []*eventsync.Service
	for range 2 {
		app := eventsync.NewApp()
		svc, err := eventsync.Use(app, "bench", benchService{})
		if err != nil {
			return err
		}
		s, err := eventsync.Configure(app, eventsync.Options{URI: c.uri, Key: c.key, OutboxSize: m.n, InboxSize: 1 << 16})
		if err != nil {
			return err
		}
		syncs = append(syncs, s)
		if err := waitReady(ctx, s, c); err != nil {
			return err
		}
		svcs = append(svcs, svc)
	}
	svcs[1].On("created", func(e eventsync.Event) { m.arrive(e.Data.(BenchRecord).SentNs) })
	pad := strings.Repeat("x", max(0, size-180)) // the envelope and context take about 180 bytes
	m.begin()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		split(m.n, publishers, func(i int) {
			m.pace(i)
			svcs[0].Create(ctx, BenchRecord{SentNs: time.Now().UnixNano(), Seq: i, Pad: pad}, nil)
		})
	}()
	m.wait(ctx, stderr)
	m.stop() // if events were lost, senders may still wait for room
	<-sent
	return nil
}

func benchRaw(ctx context.Context, c *common, m *meter, size, publishers int, stderr io.Writer) error {
	uri, _, err := splitSerializer(c.uri)
	if err != nil {
		return err
	}
	pub, err := eventsync.Open(ctx, uri, c.key)
	if err != nil {
		return err
	}
	defer pub.Close(context.Background())
	sub, err := eventsync.Open(ctx, uri, c.key)
	if err != nil {
		return err
	}
	defer sub.Close(context.Background())
	sctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := sub.Subscribe(sctx, func(msg []byte) {
		if len(msg) >= 8 {
			m.arrive(int64(binary.BigEndian.Uint64(msg)))
		}
	}); err != nil {
		return fmt.Errorf("broker %s: %w", eventsync.RedactURI(c.uri), err)
	}
	m.begin()
	batch := 512
	if m.rate > 0 {
		batch = 1 // paced: one message per publish, as events come
	}
	// A pipelining adapter is used as the Sync uses it: batches sent without
	// waiting for the broker each time (NATS: a flush round trip per
	// message would hold a steady 10,000/s down to 5,000-7,000), confirmed
	// at the end.
	publish, confirm := pub.Publish, func(context.Context) error { return nil }
	if p, ok := pub.(eventsync.Pipeliner); ok {
		publish, confirm = p.Send, p.Confirm
	}
	split((m.n+batch-1)/batch, publishers, func(b int) {
		m.pace(b * batch)
		count := min(batch, m.n-b*batch)
		msgs := make([][]byte, count)
		for i := range msgs {
			msg := make([]byte, max(size, 8))
			binary.BigEndian.PutUint64(msg, uint64(time.Now().UnixNano()))
			msgs[i] = msg
		}
		if err := publish(ctx, msgs...); err != nil {
			fmt.Fprintln(stderr, "bench: publish:", redactErr(err, c.uri))
		}
	})
	if err := confirm(ctx); err != nil {
		fmt.Fprintln(stderr, "bench: publish:", redactErr(err, c.uri))
	}
	m.wait(ctx, stderr)
	return nil
}
