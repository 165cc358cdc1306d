package serializer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"
)

// JSON is the default serializer: the feathers-sync wire format, one JSON
// object per message. JSON has no NaN or infinities (encoding such data fails
// the publish, not the call: the event stays local and is counted in
// Stats.EncodeErrors), carries []byte as base64 strings and time.Time as
// RFC 3339 with nanoseconds (the instant is exact; the location comes back as
// a fixed offset). Typed int64 and uint64 fields are exact between Go
// replicas, but Node peers read every number as a float64 and lose precision
// beyond 2^53; in generic data (any, maps) Go replicas do too, as numbers
// decode as float64.
//
// "origin" is written first so that a replica can recognise its own echo
// without decoding the message (see OriginOf).
var JSON Serializer = jsonSerializer{}

type jsonSerializer struct{}

func (jsonSerializer) Name() string { return "json" }

// Encode writes the envelope by hand around the JSON of data, id, params and
// result; the result of a service event is the event data, so it is encoded
// once and written twice.
func (j jsonSerializer) Encode(m *Message) ([]byte, error) {
	return j.encode(m, nil)
}

// EncodeNumbered implements Numberer: "seq" is the last member, so it is
// appended once the rest is written.
func (j jsonSerializer) EncodeNumbered(m *Message, number func(size int) (uint64, error)) ([]byte, error) {
	return j.encode(m, number)
}

func (jsonSerializer) encode(m *Message, number func(size int) (uint64, error)) ([]byte, error) {
	// The message is written to a pooled scratch buffer, then copied once
	// into memory of its own (see ownedCopy).
	scratch := scratchBuffers.Get().(*[]byte)
	defer scratchBuffers.Put(scratch)
	seq := m.Seq
	if number != nil {
		seq = 0
	}
	buf, err := appendMessage((*scratch)[:0], m, seq)
	if err == nil && number != nil {
		if seq, err = number(len(buf)); err == nil {
			buf = appendSeq(buf[:len(buf)-1], seq)
		}
	}
	if cap(buf) <= maxScratch {
		*scratch = buf
	}
	if err != nil {
		return nil, err
	}
	return ownedCopy(buf), nil
}

// appendSeq ends a message with its sequence number.
func appendSeq(buf []byte, seq uint64) []byte {
	buf = append(buf, `,"seq":`...)
	buf = strconv.AppendUint(buf, seq, 10)
	return append(buf, '}')
}

// appendMessage writes m with seq (none when 0) as its last member.
func appendMessage(buf []byte, m *Message, seq uint64) ([]byte, error) {
	buf = append(buf, '{')
	if m.Origin != "" {
		buf = append(buf, `"origin":`...)
		buf = appendJSONString(buf, m.Origin)
		buf = append(buf, ',')
	}
	if m.Epoch != 0 {
		buf = append(buf, `"epoch":`...)
		buf = strconv.AppendUint(buf, m.Epoch, 10)
		buf = append(buf, ',')
	}
	buf = append(buf, `"event":`...)
	buf = appendJSONString(buf, m.Event)
	buf = append(buf, `,"path":`...)
	buf = appendJSONString(buf, m.Path)
	buf = append(buf, `,"data":`...)
	dataStart := len(buf)
	buf, err := appendJSON(buf, m.Data)
	if err != nil {
		return buf, fmt.Errorf("serializer: json encode %s %s: %w", m.Path, m.Event, err)
	}
	dataEnd := len(buf)
	buf = append(buf, `,"context":`...)
	if m.Context == nil {
		buf = append(buf, "null"...)
		return endMessage(buf, seq), nil
	}
	c := m.Context
	buf = append(buf, '{')
	first := true
	field := func(name string) {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, '"')
		buf = append(buf, name...)
		buf = append(buf, `":`...)
	}
	for _, f := range [...]struct{ name, val string }{{"method", c.Method}, {"path", c.Path}, {"type", c.Type}, {"event", c.Event}} {
		if f.val != "" {
			field(f.name)
			buf = appendJSONString(buf, f.val)
		}
	}
	for _, f := range [...]struct {
		name string
		val  any
	}{{"id", c.ID}, {"result", c.Result}, {"params", c.Params}} {
		if f.val == nil || (f.name == "params" && len(c.Params) == 0) {
			continue
		}
		field(f.name)
		if f.name == "result" && sameValue(c.Result, m.Data) {
			// Before the end of buf, so never overwritten by this append.
			buf = append(buf, buf[dataStart:dataEnd]...)
			continue
		}
		if buf, err = appendJSON(buf, f.val); err != nil {
			return buf, fmt.Errorf("serializer: json encode %s %s context %s: %w", m.Path, m.Event, f.name, err)
		}
	}
	return endMessage(append(buf, '}'), seq), nil
}

func endMessage(buf []byte, seq uint64) []byte {
	if seq == 0 {
		return append(buf, '}')
	}
	return appendSeq(buf, seq)
}

// appendJSON appends json.Marshal(v) to buf, through the fast path where it
// applies.
func appendJSON(buf []byte, v any) ([]byte, error) {
	if out, ok := fastEncode(buf, reflect.ValueOf(v)); ok {
		return out, nil
	}
	b, err := json.Marshal(v)
	return append(buf, b...), err
}

// scratchBuffers holds encoding buffers; one above maxScratch is let go
// rather than kept for every later message.
var scratchBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxScratch = 64 << 10

// sameValue reports whether a and b are the same value without risking a
// panic on uncomparable types: comparable values compare with ==, maps,
// slices and pointers by identity. A comparable type may still hold an
// uncomparable value in an interface (a struct with an `any` field holding a
// map), where == panics: such types compare by ==, recovering from that.
func sameValue(a, b any) bool {
	ta := reflect.TypeOf(a)
	if ta == nil || ta != reflect.TypeOf(b) {
		return false
	}
	if ta.Comparable() {
		if holdsInterface(ta) {
			return equalOrPanics(a, b)
		}
		return a == b
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	switch ta.Kind() {
	case reflect.Map, reflect.Pointer, reflect.Func, reflect.Chan:
		return va.Pointer() == vb.Pointer()
	case reflect.Slice:
		return va.Pointer() == vb.Pointer() && va.Len() == vb.Len()
	}
	return false
}

// equalOrPanics is a == b, false where == panics.
func equalOrPanics(a, b any) (equal bool) {
	defer func() {
		if recover() != nil {
			equal = false
		}
	}()
	return a == b
}

// interfaceHolders caches holdsInterface by type.
var interfaceHolders sync.Map // reflect.Type -> bool

// holdsInterface reports whether comparing two values of t with == compares
// interface values, which panics when they hold maps, slices or funcs.
func holdsInterface(t reflect.Type) bool {
	if v, ok := interfaceHolders.Load(t); ok {
		return v.(bool)
	}
	var holds bool
	switch t.Kind() {
	case reflect.Interface:
		holds = true
	case reflect.Array:
		holds = holdsInterface(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsInterface(t.Field(i).Type) {
				holds = true
				break
			}
		}
	}
	interfaceHolders.Store(t, holds)
	return holds
}

// Decode reads what feathers-sync and eventsync send; unknown members
// (feathers-sync 3.x sends the whole hook context) are skipped.
func (jsonSerializer) Decode(b []byte, e *Envelope) error {
	*e = Envelope{}
	var seen envelopeMembers
	err := eachMember(b, func(key, val []byte) error {
		if err := seen.add(key); err != nil {
			return err
		}
		return e.setJSONMember(key, val)
	})
	if err != nil {
		return fmt.Errorf("serializer: json decode: %w", err)
	}
	return checkEnvelope("json", e)
}

// DecodeTyped implements TypedDecoder: when "data" comes after "event" and
// "path" (as eventsync and feathers-sync write them), it is decoded where it
// lies instead of being scanned once to be skipped and again to be decoded.
func (jsonSerializer) DecodeTyped(b []byte, e *Envelope, typeOf func(path, event string) (reflect.Type, bool)) (data any, decoded bool, err error) {
	*e = Envelope{}
	var seen envelopeMembers
	err = eachMemberAt(b, func(key []byte, start int) (int, error) {
		// A repeated member is refused, here as in Decode: otherwise a later
		// "path" could change the path after the data was decoded, and
		// filtered, for the first one.
		if err := seen.add(key); err != nil {
			return 0, err
		}
		if string(key) == "data" && e.Event != "" && e.Path != "" {
			if t, ok := typeOf(e.Path, e.Event); ok {
				// Data that does not fit is left encoded: the caller's
				// DecodeData reports it, after the envelope is complete.
				if v, end, err := decodeDataAt(b, start, t); err == nil {
					data, decoded = v, true
					return end, e.setJSONMember(key, b[start:end])
				}
			}
		} else if string(key) == "context" && start < len(b) && b[start] == '{' {
			// Read where it lies too, its result compared with the data.
			c, end, err := decodeJSONContextAt(b, start, e.Data)
			if err != nil {
				return 0, fmt.Errorf("context: %w", err)
			}
			e.Context = c
			return end, nil
		}
		end, err := skipValue(b, start, 0)
		if err != nil {
			return 0, err
		}
		return end, e.setJSONMember(key, b[start:end])
	})
	if err != nil {
		return nil, false, fmt.Errorf("serializer: json decode: %w", err)
	}
	return data, decoded, checkEnvelope("json", e)
}

// decodeDataAt decodes the value at b[start:] into a new value of type t
// (generically for nil) and returns it with the offset just past it. Its
// long strings share b's memory where they can (see TypedDecoder): copying
// a record's strings out of a message no one modifies again was 3% of the
// CPU of the NATS end-to-end benchmark.
func decodeDataAt(b []byte, start int, t reflect.Type) (any, int, error) {
	if t == nil {
		t = anyType
	}
	p := reflect.New(t)
	plan := planFor(t)
	d := fastDecoder{b: b, i: start, shared: true}
	// The fast path reads a number by JSON's grammar and stops after the 0
	// of 0000; skipValue takes all of it, as Decode does, and encoding/json
	// then refuses it, so that the data is left encoded as Decode leaves it.
	if d.value(plan, p.Elem()) && valueEndsAt(b, d.i) {
		return box(p, plan.typeWord), d.i, nil
	}
	end, err := skipValue(b, start, 0)
	if err != nil {
		return nil, 0, err
	}
	p.Elem().SetZero()
	if err := json.Unmarshal(b[start:end], p.Interface()); err != nil {
		return nil, 0, fmt.Errorf("data: %w", err)
	}
	return box(p, plan.typeWord), end, nil
}

var anyType = reflect.TypeFor[any]()

// envelopeMembers records which envelope members a message had, so that a
// repeated one is refused: a message means one thing to every decoder.
type envelopeMembers uint8

func (m *envelopeMembers) add(key []byte) error {
	var bit envelopeMembers
	switch string(key) {
	case "event":
		bit = 1
	case "path":
		bit = 2
	case "origin":
		bit = 4
	case "epoch":
		bit = 8
	case "seq":
		bit = 16
	case "data":
		bit = 32
	case "context":
		bit = 64
	default:
		return nil
	}
	if *m&bit != 0 {
		return fmt.Errorf("member %q repeated", key)
	}
	*m |= bit
	return nil
}

// setJSONMember sets the envelope member key from its raw JSON value.
func (e *Envelope) setJSONMember(key, val []byte) error {
	var err error
	switch string(key) {
	case "event":
		e.Event, err = jsonName(val)
	case "path":
		e.Path, err = jsonName(val)
	case "origin":
		e.Origin, err = jsonName(val)
	case "seq":
		var ok bool
		if e.Seq, ok = parseUint(val); !ok {
			err = fmt.Errorf("seq %s is not an unsigned integer", val)
		}
	case "epoch":
		var ok bool
		if e.Epoch, ok = parseUint(val); !ok {
			err = fmt.Errorf("epoch %s is not an unsigned integer", val)
		}
	case "data":
		if !bytes.Equal(val, jsonNull) {
			e.Data = val
		}
	case "context":
		if !bytes.Equal(val, jsonNull) {
			e.Context, err = decodeJSONContext(val)
		}
	}
	return err
}

func decodeJSONContext(b []byte) (*Context, error) {
	c, end, err := decodeJSONContextAt(b, skipSpace(b, 0), nil)
	if err == nil {
		err = trailing(b, end)
	}
	if err != nil {
		return nil, fmt.Errorf("context: %w", err)
	}
	return c, nil
}

// decodeJSONContextAt decodes the context object at b[start:] and returns
// the offset just past it. data is the message's data, if already read: the
// context's result is that value again in what eventsync and feathers-sync
// send, and comparing its bytes is cheaper than scanning them (the result
// is skipped either way: the receiver uses the data).
func decodeJSONContextAt(b []byte, start int, data []byte) (*Context, int, error) {
	c := &Context{}
	end, err := eachMemberFrom(b, start, func(key []byte, start int) (int, error) {
		if n := len(data); n > 0 && string(key) == "result" && bytes.HasPrefix(b[start:], data) &&
			valueEndsAt(b, start+n) {
			return start + n, nil
		}
		end, err := skipValue(b, start, 0)
		if err != nil {
			return 0, err
		}
		return end, c.setJSONMember(key, b[start:end])
	})
	return c, end, err
}

// valueEndsAt reports whether a JSON value may end at b[i]: at the end of
// b, or before a byte that may follow a value. A value read as a prefix of
// b[start:] is the whole value only then.
func valueEndsAt(b []byte, i int) bool {
	if i == len(b) {
		return true
	}
	c := b[i]
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// setJSONMember sets the context member key from its raw JSON value.
func (c *Context) setJSONMember(key, val []byte) error {
	var err error
	switch string(key) {
	case "method":
		c.Method, err = jsonName(val)
	case "path":
		c.Path, err = jsonName(val)
	case "type":
		c.Type, err = jsonName(val)
	case "event":
		c.Event, err = jsonName(val)
	case "id":
		c.ID, err = jsonValue(val)
	case "params":
		if !bytes.Equal(val, jsonNull) && !bytes.Equal(val, []byte("{}")) {
			c.Params, err = jsonObject(val)
		}
	}
	return err
}

var jsonNull = []byte("null")

// jsonValue decodes a generic value, taking a fast path for strings and
// plain numbers, which ids and params mostly are.
func jsonValue(raw []byte) (any, error) {
	if len(raw) > 0 && raw[0] == '"' {
		return jsonString(raw)
	}
	if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return f, nil
		}
	}
	var v any
	err := json.Unmarshal(raw, &v)
	return v, err
}

// jsonObject decodes an object into a map, member by member.
func jsonObject(raw []byte) (map[string]any, error) {
	m := make(map[string]any)
	err := eachMember(raw, func(key, val []byte) error {
		k, err := jsonString(append(append([]byte{'"'}, key...), '"'))
		if err != nil {
			return err
		}
		m[k], err = jsonValue(val)
		return err
	})
	return m, err
}

func (jsonSerializer) DecodeData(data []byte, v any) error {
	// The fast path decodes into zero values only, where its result is
	// encoding/json's; on anything it leaves, encoding/json starts afresh.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		if e := rv.Elem(); e.IsZero() {
			if fastDecode(data, e) {
				return nil
			}
			e.SetZero()
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("serializer: json decode data: %w", err)
	}
	return nil
}

// OriginOf implements OriginReader: the origin, if the message starts with
// it as eventsync writes it.
func (jsonSerializer) OriginOf(b []byte) ([]byte, bool) {
	const prefix = `{"origin":"`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return nil, false
	}
	rest := b[len(prefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return nil, false
	}
	return rest[:end], true
}
