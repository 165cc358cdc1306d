package rest_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/rest"
)

// BenchmarkEventStreamFanOut streams every event to 1,000 concurrent
// clients of one replica (each its own HTTP connection, reading in a
// goroutine of this process) and reports, over b.N events emitted one
// every 10 ms (100,000 messages/s to write), the p50 and p99 of the time from Emit to the last client
// receiving the event (last-p50-µs, last-p99-µs), and the same to the
// median client (median-p50-µs). EVENTSYNC_SSE_EVERY sets the pace
// (default 10ms). The clients share the machine's cores with the server:
//
//	go test -run XXX -bench EventStreamFanOut -benchtime 500x ./rest
func BenchmarkEventStreamFanOut(b *testing.B) {
	const clients = 1000
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "todos", synctest.NewTodoStore(), eventsync.CustomEvent[int]("progress"))
	if err != nil {
		b.Fatal(err)
	}
	hub := channels.New(app, channels.Options{QueueSize: 4096})
	defer hub.Close()
	hub.Publish("", channels.PublishAll)
	h, err := rest.New(app, rest.Options{Hub: hub})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: 0}}
	defer client.CloseIdleConnections()

	n := b.N
	got := make([][]time.Time, clients) // got[c][i]: when client c read event i+1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg, open sync.WaitGroup
	for c := range clients {
		got[c] = make([]time.Time, n)
		open.Add(1)
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
			res, err := client.Do(req)
			open.Done()
			if err != nil {
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			seen := 0
			for seen < n && sc.Scan() {
				if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
					i, _ := strconv.Atoi(id)
					if i >= 1 && i <= n {
						got[c][i-1] = time.Now()
						seen++
					}
				}
			}
		})
	}
	open.Wait()
	for hub.Stats().Connections < clients {
		time.Sleep(time.Millisecond)
	}
	every := 10 * time.Millisecond
	if s := os.Getenv("EVENTSYNC_SSE_EVERY"); s != "" {
		if every, err = time.ParseDuration(s); err != nil {
			b.Fatal(err)
		}
	}
	emitted := make([]time.Time, n)
	b.ResetTimer()
	for i := range n {
		emitted[i] = time.Now()
		if err := svc.Emit(context.Background(), "progress", i); err != nil {
			b.Fatal(err)
		}
		time.Sleep(every) // pacing: a steady rate, not a backlog
	}
	wg.Wait()
	b.StopTimer()
	var last, median []time.Duration
	for i := range n {
		per := make([]time.Duration, 0, clients)
		for c := range clients {
			if got[c][i].IsZero() {
				b.Fatalf("client %d missed event %d (dropped: %d)", c, i+1, hub.Stats().Dropped)
			}
			per = append(per, got[c][i].Sub(emitted[i]))
		}
		slices.Sort(per)
		last, median = append(last, per[len(per)-1]), append(median, per[len(per)/2])
	}
	slices.Sort(last)
	slices.Sort(median)
	q := func(d []time.Duration, p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) }
	b.ReportMetric(q(last, 0.5), "last-p50-µs")
	b.ReportMetric(q(last, 0.99), "last-p99-µs")
	b.ReportMetric(q(median, 0.5), "median-p50-µs")
}
