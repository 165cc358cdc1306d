package registry

import (
	"encoding/json"
	"time"

	"github.com/eventsync/eventsync/internal/signing"
)

// The registry's messages are JSON objects on the registry's key, in four
// kinds (Moleculer's DISCOVER, INFO, HEARTBEAT and DISCONNECT):
//
//	{"t":"ask","from":ID,"seq":N[,"to":ID]}        describe yourselves (to: only that instance)
//	{"t":"info","from":ID,"seq":N,"hash":H,"member":{...}}   a full description
//	{"t":"hb","from":ID,"seq":N,"hash":H}          alive, with this description
//	{"t":"bye","from":ID,"seq":N,"reason":R}       gone: left, or an HTTP registration expired
//
// seq numbers one sender's messages; a message that does not come after
// the last one heard from its sender is refused.
const (
	msgAsk  = "ask"
	msgInfo = "info"
	msgBeat = "hb"
	msgBye  = "bye"
)

type wireMsg struct {
	T      string          `json:"t"`
	From   string          `json:"from"`
	Seq    uint64          `json:"seq"`
	To     string          `json:"to,omitempty"`
	Hash   string          `json:"hash,omitempty"`
	Member json.RawMessage `json:"member,omitempty"`
	Reason string          `json:"reason,omitempty"`
}

// deliver is the adapter's callback: it reads one message and updates the
// members. It never blocks on anything but r.mu.
func (r *Registry) deliver(raw []byte) {
	r.stats.received.Add(1)
	now := time.Now()
	if len(r.opts.Secret) > 0 {
		body, ts, ok := signing.Verify(r.opts.Secret, raw, true)
		if !ok {
			r.stats.forged.Add(1)
			r.warn("registry: message without a valid signature dropped", "bytes", len(raw))
			return
		}
		if age := now.Sub(time.UnixMilli(ts)); age > r.opts.TTL || age < -r.opts.TTL {
			r.stats.replayed.Add(1)
			return
		}
		raw = body
	}
	var m wireMsg
	if err := json.Unmarshal(raw, &m); err != nil || m.From == "" || m.Seq == 0 {
		r.stats.malformed.Add(1)
		r.warn("registry: malformed message dropped", "bytes", len(raw), "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if _, own := r.local[m.From]; own || m.From == r.opts.Instance {
		return // an echo
	}
	e := r.members[m.From]
	last := uint64(0)
	if e != nil {
		last = e.seq
	} else if t, ok := r.gone[m.From]; ok {
		last = t.seq
	}
	if m.Seq <= last {
		r.stats.replayed.Add(1)
		return
	}
	if e != nil {
		e.seq, e.seen = m.Seq, now
	}
	switch m.T {
	case msgAsk:
		r.asked(m.To)
	case msgInfo:
		r.described(&m, e, now)
	case msgBeat:
		if e == nil || e.hash != m.Hash {
			if a := r.asks[m.From]; a != nil {
				a.heard = now
			} else {
				r.asks[m.From] = &pendingAsk{heard: now}
				r.wake()
			}
		}
	case msgBye:
		if e != nil {
			reason := ReasonLeft
			if m.Reason == ReasonExpired {
				reason = ReasonExpired
			}
			r.drop(m.From, e, reason, now)
		} else {
			r.gone[m.From] = tombstone{seq: m.Seq, until: now.Add(10 * r.opts.TTL)}
		}
	default:
		r.stats.malformed.Add(1)
	}
}

// asked marks the descriptions an ask wants as due. The caller holds r.mu.
func (r *Registry) asked(to string) {
	for id, l := range r.local {
		if to == "" || to == id {
			l.infoDue = true
		}
	}
	r.wake()
}

// described takes a description in. The caller holds r.mu.
func (r *Registry) described(m *wireMsg, e *entry, now time.Time) {
	if len(m.Member) > r.opts.MaxDescriptionBytes {
		r.stats.overLimit.Add(1)
		r.warn("registry: description over the limit refused", "from", m.From, "bytes", len(m.Member),
			"limit", r.opts.MaxDescriptionBytes)
		return
	}
	if e != nil && e.hash == m.Hash {
		return
	}
	var member Member
	if err := json.Unmarshal(m.Member, &member); err != nil || member.Instance != m.From || member.App == "" {
		r.stats.malformed.Add(1)
		r.warn("registry: malformed description dropped", "from", m.From, "err", err)
		return
	}
	delete(r.asks, m.From)
	kind := Changed
	if e == nil {
		if len(r.members) >= r.opts.MaxMembers {
			r.stats.refused.Add(1)
			r.warn("registry: member refused: too many members", "from", m.From, "limit", r.opts.MaxMembers)
			return
		}
		e = &entry{seq: m.Seq, seen: now}
		r.members[m.From] = e
		delete(r.gone, m.From)
		kind = Online
	}
	e.member, e.hash = member, m.Hash
	r.notify(Change{Kind: kind, Member: member.listed(now)})
}
