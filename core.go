package eventsync

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsync/eventsync/internal/backoff"
	"github.com/eventsync/eventsync/internal/signing"
	"github.com/eventsync/eventsync/serializer"
)

// syncOut is the interceptor: it encodes an event and queues it for the
// publisher. It never blocks on the broker. It returns true when the event
// must wait for its round trip instead of reaching local listeners now.
func (s *Sync) syncOut(ev *Event) (deferred bool) {
	ev.Origin = s.opts.ReplicaID
	if !ev.Sync {
		return false
	}
	if f := s.opts.PublishFilter; f != nil && !f(ev.Path, ev.Name) {
		s.stats.filtered.Add(1)
		ev.Sync = false
		return false
	}
	out, _ := s.outgoing.Get().(*outgoing)
	if out == nil {
		out = new(outgoing)
	}
	out.msg = serializer.Message{
		Event: ev.Name, Path: ev.Path, Data: ev.Data, Context: s.exportContext(ev.Context, &out.ctx),
		Origin: s.opts.ReplicaID, Epoch: s.epoch,
	}
	msg, err := s.encode(&out.msg)
	*out = outgoing{} // the pool must not keep the event's data alive
	if err == nil && s.lastPath.Load() != ev.Path {
		s.lastPath.Store(ev.Path) // where a tail announcement goes (tail.go)
	}
	s.outgoing.Put(out)
	var tooLarge *errTooLarge
	switch {
	case errors.As(err, &tooLarge):
		s.stats.oversized.Add(1)
		s.logLimited(kindOversized, "eventsync: event not published: message too large",
			"path", ev.Path, "event", ev.Name, "bytes", tooLarge.size, "limit", s.opts.MaxMessageBytes)
		ev.Sync = false
		return false
	case err != nil:
		s.stats.encodeErrors.Add(1)
		s.logLimited(kindEncode, "eventsync: event not published: cannot encode", "path", ev.Path, "event", ev.Name, "err", err)
		ev.Sync = false
		return false
	}
	if len(s.opts.Secret) > 0 {
		msg = signing.Sign(s.opts.Secret, msg, s.now().UnixMilli(), s.jsonWire)
	}
	s.stats.emitted.Add(1) // first, so that Emitted is never behind Published
	dropped, closed := s.outbox.Push(msg)
	if closed {
		s.stats.emitted.Add(^uint64(0))
		ev.Sync = false
		return false
	}
	if dropped {
		s.stats.dropped.Add(1)
		s.logLimited(kindDropped, "eventsync: outbox full, event dropped", "policy", s.opts.Overflow, "size", s.opts.OutboxSize)
		if s.opts.Overflow == DropNewest {
			ev.Sync = false
			return false // the event itself was dropped: at least this replica sees it
		}
	}
	return s.opts.RoundTrip
}

// encode encodes m and gives it the next sequence number, but only once it
// has encoded and fits MaxMessageBytes: a number used up by a message that
// is never sent would count as missed on every receiver.
func (s *Sync) encode(m *serializer.Message) ([]byte, error) { return s.encodeWith(m, s.numberFn) }

// encodeWith encodes m with the sequence number that number gives for its
// encoded size. A panicking serializer fails the publish, not the service
// call.
func (s *Sync) encodeWith(m *serializer.Message, number func(size int) (uint64, error)) (msg []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("eventsync: %s serializer panicked: %v", s.opts.Serializer.Name(), r)
		}
	}()
	if n, ok := s.opts.Serializer.(serializer.Numberer); ok {
		return n.EncodeNumbered(m, number)
	}
	// Encoded once to learn that it can be, then again with its number.
	if msg, err = s.opts.Serializer.Encode(m); err != nil {
		return nil, err
	}
	if m.Seq, err = number(len(msg)); err != nil {
		return nil, err
	}
	return s.opts.Serializer.Encode(m)
}

// number returns the next sequence number for a message of size bytes
// without one, or an *errTooLarge if the message, numbered and signed,
// could exceed MaxMessageBytes.
func (s *Sync) number(size int) (uint64, error) {
	if size+serializer.MaxSeqBytes+s.signBytes() > s.opts.MaxMessageBytes {
		return 0, &errTooLarge{size: size}
	}
	return s.seq.Add(1), nil
}

// signBytes bounds what signing adds to a message.
func (s *Sync) signBytes() int {
	if len(s.opts.Secret) == 0 {
		return 0
	}
	return signing.MaxBytes
}

// errTooLarge is a message that would exceed MaxMessageBytes.
type errTooLarge struct{ size int }

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("eventsync: message of %d bytes too large: %v", e.size, ErrMessageTooLarge)
}

func (e *errTooLarge) Unwrap() error { return ErrMessageTooLarge }

// outgoing is a message being encoded, with room for its context.
type outgoing struct {
	msg serializer.Message
	ctx serializer.Context
}

// exportContext keeps what may leave the process: method, path, type, id,
// event, result, and only the allowlisted params; in c unless
// Options.ExportContext decides.
func (s *Sync) exportContext(hc *HookContext, c *serializer.Context) *serializer.Context {
	if hc == nil {
		return nil
	}
	if f := s.opts.ExportContext; f != nil {
		return f(hc)
	}
	*c = serializer.Context{
		Method: hc.Method, Path: hc.Path, Type: hc.Type, ID: hc.ID, Event: hc.Event,
		Result: hc.Result, Params: s.allowedParams(hc.Params),
	}
	return c
}

func (s *Sync) allowedParams(p map[string]any) Params {
	var out Params
	for _, k := range s.opts.ExportParams {
		if v, ok := p[k]; ok {
			if out == nil {
				out = make(Params, len(s.opts.ExportParams))
			}
			out[k] = v
		}
	}
	return out
}

// publishLoop is the one goroutine that publishes: it takes everything queued
// (up to MaxBatch) in one Publish call, so batches grow while the broker is
// busy and a lone event goes out at once. A failed batch is retried with
// backoff until it is sent or Close gives up.
func (s *Sync) publishLoop() {
	defer close(s.pubDone)
	maxBytes := s.maxBatchBytes()
	var batch [][]byte
	var bo backoff.Backoff
	for {
		batch = s.outbox.Take(batch[:0], s.opts.MaxBatch, maxBytes)
		if len(batch) == 0 {
			select {
			case <-s.outbox.Wake():
				continue
			case <-s.draining:
				if s.outbox.Len() == 0 {
					return
				}
				continue
			}
		}
		s.inFlight.Add(int64(len(batch)))
		for {
			err := s.adapter.Publish(s.pubCtx, batch...)
			if err == nil {
				s.published(len(batch))
				bo.Reset()
				break
			}
			if s.pubCtx.Err() == nil {
				s.publishFailed(len(batch), err)
				_ = backoff.Sleep(s.pubCtx, bo.Next()) // ends early when Close gives up: checked next
				s.holdBack()
			}
			if s.pubCtx.Err() != nil { // Close gave up
				s.inFlight.Store(0)
				s.stats.unsent.Add(uint64(len(batch) + s.outbox.Len()))
				return
			}
		}
		s.setErr(&s.pubErr, nil)
		clear(batch)
	}
}

// maxBatchBytes bounds the bytes the publisher takes from the outbox for one
// batch (a batch holds at least one message, whatever its size).
func (s *Sync) maxBatchBytes() int { return max(4*s.opts.MaxMessageBytes, 4<<20) }

// published counts events the broker has: in this order, a reader that sees
// Published counted sees QueueLength without them.
func (s *Sync) published(events int) {
	s.inFlight.Add(-int64(events))
	s.stats.published.Add(uint64(events))
}

// holdBack waits, after a failed publish and before the retry, until this
// replica's own subscription is back (up to holdBackMax), then
// holdBackGrace more: the adapters retry a lost subscription at least once
// a second, so by then every replica of the fleet had its chance to
// resubscribe since the broker came back, with a second to spare for a
// loaded machine. Without it an event published
// the moment the broker came back, before they resubscribed, would reach
// none of them on an at-most-once broker (Redis pub/sub, RabbitMQ without
// Recovery).
//
// The subscription may be back already when the failure shows (it came back
// first): a reconnect since the last hold counts as a loss too.
func (s *Sync) holdBack() {
	r, ok := s.adapter.(StateReporter)
	if !ok {
		return
	}
	st := r.State()
	lost := !st.Connected || st.Reconnects != s.heldReconnects
	s.heldReconnects = st.Reconnects
	if !lost {
		return
	}
	deadline := time.NewTimer(holdBackMax)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !r.State().Connected {
		select {
		case <-tick.C:
		case <-deadline.C:
			return
		case <-s.pubCtx.Done():
			return
		}
	}
	s.heldReconnects = r.State().Reconnects
	_ = backoff.Sleep(s.pubCtx, holdBackGrace)
}

// holdBackMax bounds holdBack's wait for the subscription; holdBackGrace
// is the time it leaves the other replicas once it is back.
const (
	holdBackMax   = 2 * time.Second
	holdBackGrace = 2 * time.Second
)

// publishFailed counts and logs a failed publish of events that is retried.
func (s *Sync) publishFailed(events int, err error) {
	s.stats.publishFailures.Add(1)
	s.setErr(&s.pubErr, err)
	s.logLimited(kindPublish, "eventsync: publish failed, retrying", "events", events, "err", err)
}

// subscribeLoop subscribes, retrying with backoff, and closes Ready once the
// subscription is live. After that the adapter owns reconnects.
func (s *Sync) subscribeLoop() {
	defer close(s.subDone)
	var bo backoff.Backoff
	for {
		err := s.adapter.Subscribe(s.runCtx, s.deliver)
		if err == nil {
			s.setErr(&s.subErr, nil)
			close(s.ready)
			return
		}
		if s.runCtx.Err() != nil {
			return
		}
		s.setErr(&s.subErr, err)
		s.logLimited(kindSubscribe, "eventsync: subscribe failed, retrying", "type", s.typ, "err", err)
		if backoff.Sleep(s.runCtx, bo.Next()) != nil {
			return
		}
	}
}

// deliver is the adapter's callback. It never blocks the adapter's read
// loop: a full inbox drops the message and counts it.
func (s *Sync) deliver(msg []byte) {
	if s.dropEcho(msg) {
		// Dropped here, on the adapter's goroutine, so that the dispatcher is
		// not woken for it: brokers other than NATS send every message back.
		return
	}
	s.stats.received.Add(1)
	if dropped, _ := s.inbox.Push(msg); dropped {
		s.stats.inboxDropped.Add(1)
		s.logLimited(kindInbox, "eventsync: inbox full, received message dropped", "size", s.opts.InboxSize)
	}
}

// dispatchLoop takes what was received, in batches, decodes each batch
// (on several goroutines when it is large and there are cores to spare: the
// decoding is most of the receiving side's work) and dispatches it in order.
// Once the adapter is closed it dispatches what is left, then stops.
func (s *Sync) dispatchLoop() {
	defer close(s.dispatchDone)
	var batch [][]byte
	var decoded []incoming
	for {
		batch = s.inbox.Take(batch[:0], 256, math.MaxInt)
		decoded = s.decodeAll(batch, decoded, int(s.decodeWorkers.Load()))
		for i := range decoded {
			select {
			case <-s.abandon: // Close gave up: count what is left, dispatch nothing more
				s.stats.inboxDropped.Add(uint64(len(decoded) - i + s.inbox.Len()))
				return
			default:
			}
			s.commit(&decoded[i])
		}
		clear(batch)
		clear(decoded)
		if len(batch) > 0 {
			continue
		}
		select {
		case <-s.inbox.Wake():
		case <-s.stopDispatch:
			if s.inbox.Len() == 0 {
				return
			}
		case <-s.abandon:
			s.stats.inboxDropped.Add(uint64(s.inbox.Len()))
			return
		}
	}
}

// parallelDecodeMin is the batch size from which decoding is spread over
// goroutines; below it the hand-off costs more than it saves.
const parallelDecodeMin = 64

// decodeWorkers leaves two cores to the broker client and the publisher: on
// the 2-core machine of BENCHMARKS.md, decoding on both cores made end-to-end
// rates 5-8% worse, so there it stays on the dispatch goroutine.
func decodeWorkers() int { return max(1, runtime.GOMAXPROCS(0)-2) }

// decodeAll decodes batch into out (resized), in order.
func (s *Sync) decodeAll(batch [][]byte, out []incoming, workers int) []incoming {
	if cap(out) < len(batch) {
		out = make([]incoming, len(batch))
	}
	out = out[:len(batch)] // zeroed: dispatchLoop clears it after each batch
	if workers < 2 || len(batch) < parallelDecodeMin {
		for i, msg := range batch {
			s.decode(msg, &out[i])
		}
		return out
	}
	var wg sync.WaitGroup
	chunk := (len(batch) + workers - 1) / workers
	for lo := 0; lo < len(batch); lo += chunk {
		hi := min(lo+chunk, len(batch))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				s.decode(batch[i], &out[i])
			}
		})
	}
	wg.Wait()
	return out
}

// dataType is the typeOf of serializer.TypedDecoder: the data's type for a
// message that passes the AcceptFilter, ok false for the rest, which decode
// then counts.
func (s *Sync) dataType(path, event string) (reflect.Type, bool) {
	if event == TailEvent {
		return nil, false
	}
	if f := s.opts.AcceptFilter; f != nil && !f(path, event) {
		return nil, false
	}
	t, err := s.em.DataType(path, event)
	return t, err == nil
}

// dropEcho counts msg as received and as an echo when it is this
// replica's own; deliver calls it, and an EchoFilterer before delivering.
func (s *Sync) dropEcho(msg []byte) bool {
	if !s.isEcho(msg) {
		return false
	}
	s.stats.received.Add(1)
	s.stats.echoes.Add(1)
	return true
}

// isEcho reports whether msg is this replica's own, as far as the
// serializer can tell without decoding it (signed messages cannot be told
// apart this way: they are verified first, in decode).
func (s *Sync) isEcho(msg []byte) bool {
	if s.origins == nil {
		return false
	}
	origin, ok := s.origins.OriginOf(msg)
	return ok && string(origin) == s.opts.ReplicaID
}

// incoming is a received message after decode, waiting for commit.
type incoming struct {
	run   originRun
	seq   uint64
	ev    Event
	ready bool // decoded into ev; false: dropped (and counted) by decode
	tail  bool // a tail announcement: its seq only
	env   serializer.Envelope
}

// decode does for one message everything that does not depend on the order
// of messages, so that it may run on several goroutines at once: size limit,
// signature, echo, envelope, path and data. Bad input is counted and logged
// (at most once a second per kind), never fatal.
func (s *Sync) decode(msg []byte, in *incoming) {
	if len(msg) > s.opts.MaxMessageBytes {
		s.stats.oversized.Add(1)
		s.logLimited(kindOversized, "eventsync: received message too large", "bytes", len(msg), "limit", s.opts.MaxMessageBytes)
		return
	}
	if len(s.opts.Secret) > 0 {
		body, ts, ok := signing.Verify(s.opts.Secret, msg, s.jsonWire)
		if !ok {
			s.stats.forged.Add(1)
			s.logLimited(kindForged, "eventsync: message without a valid signature dropped", "bytes", len(msg))
			return
		}
		if age := s.now().Sub(time.UnixMilli(ts)); age > s.opts.MaxAge || age < -s.opts.MaxAge {
			s.stats.replayed.Add(1)
			s.logLimited(kindForged, "eventsync: signed message too old or from the future dropped (a replay, or clocks apart)",
				"age", age, "maxAge", s.opts.MaxAge)
			return
		}
		msg = body
	}
	env := &in.env
	var data any
	var decoded bool
	var err error
	if s.typed != nil {
		data, decoded, err = s.typed.DecodeTyped(msg, env, s.typeOf)
	} else {
		err = s.opts.Serializer.Decode(msg, env)
	}
	if err != nil {
		s.stats.malformed.Add(1)
		s.logLimited(kindMalformed, "eventsync: malformed message", "err", err, "bytes", len(msg))
		return
	}
	own := env.Origin == s.opts.ReplicaID
	if own && !s.opts.RoundTrip {
		s.stats.echoes.Add(1)
		return
	}
	// From here on the message counts in its origin's sequence.
	in.run, in.seq = originRun{env.Origin, env.Epoch}, env.Seq
	if env.Event == TailEvent {
		in.tail = true
		return
	}
	if !decoded {
		if f := s.opts.AcceptFilter; f != nil && !f(env.Path, env.Event) {
			s.stats.filtered.Add(1)
			return
		}
		t, err := s.em.DataType(env.Path, env.Event)
		if err != nil {
			s.stats.unknownPath.Add(1)
			s.logLimited(kindUnknown, "eventsync: message for unknown path or event", "path", env.Path, "event", env.Event, "err", err)
			return
		}
		if data, err = s.decodeData(env.Data, t); err != nil {
			s.stats.malformed.Add(1)
			s.logLimited(kindMalformed, "eventsync: data does not fit the record type", "path", env.Path, "event", env.Event, "type", t, "err", err)
			return
		}
	}
	in.ev = Event{Name: env.Event, Path: env.Path, Data: data, Sync: true, Origin: env.Origin, Remote: !own}
	if c := env.Context; c != nil {
		in.ev.Context = &HookContext{
			Path: env.Path, Method: c.Method, Type: c.Type, ID: c.ID, Event: env.Event,
			Params: s.allowedParams(c.Params), Result: data, Sync: true,
		}
		if in.ev.Context.Params == nil {
			in.ev.Context.Params = Params{}
		}
	}
	in.ready = true
}

// commit does what depends on the order of messages, on the dispatch
// goroutine: drop repeats (recording every sequence number, so that a
// malformed message is not also counted as missed), then dispatch.
func (s *Sync) commit(in *incoming) {
	if in.tail {
		if in.run.origin != "" && in.seq != 0 {
			s.seqs.tail(in.run, in.seq)
		}
		return
	}
	if in.run.origin != "" && in.seq != 0 && s.seqs.seen(in.run, in.seq) != fresh {
		if in.ready {
			s.stats.duplicates.Add(1) // a retried batch delivered twice, or a replay
		}
		return
	}
	if !in.ready {
		return
	}
	if err := s.em.Dispatch(in.ev); err != nil {
		s.stats.unknownPath.Add(1)
		s.logLimited(kindUnknown, "eventsync: cannot dispatch", "path", in.ev.Path, "event", in.ev.Name, "err", err)
		return
	}
	s.stats.dispatched.Add(1)
}

func (s *Sync) decodeData(raw []byte, t reflect.Type) (any, error) {
	if t == nil {
		var v any
		if raw == nil {
			return nil, nil
		}
		err := s.opts.Serializer.DecodeData(raw, &v)
		return v, err
	}
	p := reflect.New(t)
	if raw != nil {
		if err := s.opts.Serializer.DecodeData(raw, p.Interface()); err != nil {
			return nil, err
		}
	}
	return p.Elem().Interface(), nil
}

// Kinds of log lines that are rate limited.
const (
	kindMalformed = iota
	kindUnknown
	kindEncode
	kindOversized
	kindDropped
	kindPublish
	kindSubscribe
	kindInbox
	kindForged
	numKinds
)

// logLimiter lets one line per kind through each second, so that a flood of
// bad input cannot flood the log; the counters in Stats keep the full tally.
type logLimiter struct{ last [numKinds]atomic.Int64 }

func (s *Sync) logLimited(kind int, msg string, args ...any) {
	now := time.Now().UnixNano()
	last := s.limiter.last[kind].Load()
	if now-last < int64(time.Second) || !s.limiter.last[kind].CompareAndSwap(last, now) {
		return
	}
	s.log.Warn(msg, args...)
}
