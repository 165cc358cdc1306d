package redissync

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/backoff"
)

// SetRecovery implements eventsync.Recoverer with a Redis stream named after
// the key instead of pub/sub: XADD trims it to the window (MAXLEN for
// Events, MINID for Window, approximately), and each replica reads it with
// XREAD from the last entry it delivered, kept in memory, so that after a
// reconnect it resumes right after it. feathers-sync reads pub/sub only:
// recovery is for keys that no Node replica shares. A process that starts
// reads what is published from then on (the stream has no per-replica
// position).
func (a *Adapter) SetRecovery(r eventsync.Recovery, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.subscribing {
		return errors.New("redissync: recovery must be set before Subscribe")
	}
	a.recovery = r
	a.lean, a.pub = nil, nil // streams go through go-redis
	return nil
}

// streamArgs returns XADD's arguments for msg, trimming the stream to the
// window.
func (a *Adapter) streamArgs(msg []byte, now time.Time) *redis.XAddArgs {
	args := &redis.XAddArgs{Stream: a.key, Values: []any{"m", msg}, Approx: true}
	switch {
	case a.recovery.Events > 0:
		args.MaxLen = int64(a.recovery.Events)
	case a.recovery.Window > 0:
		args.MinID = strconv.FormatInt(now.Add(-a.recovery.Window).UnixMilli(), 10)
	}
	return args
}

// publishStream appends msgs to the stream in one pipeline; with both
// bounds, the time bound is applied by one XTRIM per batch.
func (a *Adapter) publishStream(ctx context.Context, msgs [][]byte) error {
	now := time.Now()
	pipe := a.client.Pipeline()
	for _, m := range msgs {
		pipe.XAdd(ctx, a.streamArgs(m, now))
	}
	if a.recovery.Events > 0 && a.recovery.Window > 0 {
		pipe.XTrimMinIDApprox(ctx, a.key, strconv.FormatInt(now.Add(-a.recovery.Window).UnixMilli(), 10), 0)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// streamReader reads the key's stream from the entry after last.
type streamReader struct {
	a       *Adapter
	deliver func([]byte)
	last    string // the ID of the last entry delivered (or seen at subscribe time)
}

// subscribeStream starts after the stream's newest entry, if any.
func (a *Adapter) subscribeStream(ctx context.Context, deliver func([]byte)) (*streamReader, error) {
	newest, err := a.client.XRevRangeN(ctx, a.key, "+", "-", 1).Result()
	if err != nil {
		return nil, err
	}
	r := &streamReader{a: a, deliver: deliver, last: "0-0"}
	if len(newest) > 0 {
		r.last = newest[0].ID
	}
	return r, nil
}

// block is how long one XREAD waits for entries: Close waits for it at most.
const block = 250 * time.Millisecond

// run reads until ctx ends. After an error it retries (at least once a
// second), and once Redis answers again it reads on from the last entry it
// delivered: what was published meanwhile and is still in the stream is
// recovered; if the stream was trimmed past it, that is a resume gap.
func (r *streamReader) run(ctx context.Context) {
	a := r.a
	bo := backoff.Backoff{Max: time.Second}
	var backAt int64 // the Unix ms of a reconnect: entries added up to it are recovered
	for {
		res, err := a.client.XRead(ctx, &redis.XReadArgs{Streams: []string{a.key, r.last}, Count: 512, Block: block}).Result()
		if ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			if a.connected.Swap(false) {
				a.log.Load().Warn("redissync: stream read failed, retrying", "key", a.key, "err", err)
			}
			if backoff.Sleep(ctx, bo.Next()) != nil {
				return
			}
			continue
		}
		if !a.connected.Swap(true) {
			backAt = time.Now().UnixMilli()
			a.reconnects.Add(1)
			bo.Reset()
			r.checkGap(ctx)
			a.log.Load().Info("redissync: stream read again", "key", a.key, "after", r.last)
		}
		for _, s := range res {
			for _, m := range s.Messages {
				r.last = m.ID
				if backAt > 0 {
					if idMillis(m.ID) <= backAt {
						a.recovered.Add(1)
					} else {
						backAt = 0
					}
				}
				r.handle(m)
			}
		}
	}
}

// handle delivers one entry's message, unless it is oversized or an echo.
func (r *streamReader) handle(m redis.XMessage) {
	a := r.a
	payload, ok := m.Values["m"].(string)
	if !ok {
		a.malformed.Add(1)
		return
	}
	if limit := a.maxBytes.Load(); limit > 0 && int64(len(payload)) > limit {
		a.skipped()
		return
	}
	b := payloadBytes(payload)
	if a.isEcho != nil && a.isEcho(b) {
		return
	}
	r.deliver(b)
}

// checkGap counts a resume gap when the stream's oldest entry is newer than
// the one after the last delivered: what was between was trimmed.
func (r *streamReader) checkGap(ctx context.Context) {
	oldest, err := r.a.client.XRangeN(ctx, r.a.key, "-", "+", 1).Result()
	if err != nil || len(oldest) == 0 || r.last == "0-0" {
		return
	}
	if compareIDs(oldest[0].ID, r.last) > 0 { // entries after the last one read may have been trimmed unread
		r.a.resumeGaps.Add(1)
		r.a.log.Load().Warn("redissync: the stream was trimmed past the last entry read: events may be missed", "key", r.a.key, "last", r.last, "oldest", oldest[0].ID)
	}
}

// idMillis is the time part of a stream entry ID ("1700000000000-3").
func idMillis(id string) int64 {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return n
}

// compareIDs orders two stream entry IDs.
func compareIDs(x, y string) int {
	xm, xs, _ := strings.Cut(x, "-")
	ym, ys, _ := strings.Cut(y, "-")
	a, _ := strconv.ParseUint(xm, 10, 64)
	b, _ := strconv.ParseUint(ym, 10, 64)
	if a != b {
		return cmp.Compare(a, b)
	}
	a, _ = strconv.ParseUint(xs, 10, 64)
	b, _ = strconv.ParseUint(ys, 10, 64)
	return cmp.Compare(a, b)
}
