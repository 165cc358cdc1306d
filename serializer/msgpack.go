package serializer

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// MsgPack encodes messages with MessagePack (github.com/vmihailenco/msgpack/v5).
// It keeps int64 and uint64 exact, carries []byte as binary, NaN and
// infinities as floats, and time.Time as the msgpack timestamp extension
// (the instant is exact; the location comes back as time.Local).
// Struct fields use their msgpack tags, or json tags when none is set.
var MsgPack Serializer = msgpackSerializer{}

type msgpackSerializer struct{}

func (msgpackSerializer) Name() string { return "msgpack" }

func (msgpackSerializer) Encode(m *Message) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("serializer: msgpack encode %s %s: %w", m.Path, m.Event, err)
	}
	return buf.Bytes(), nil
}

type msgpackEnvelope struct {
	Event   string             `msgpack:"event"`
	Path    string             `msgpack:"path"`
	Origin  string             `msgpack:"origin"`
	Data    msgpack.RawMessage `msgpack:"data"`
	Context *Context           `msgpack:"context"`
}

func newMsgpackDecoder(b []byte) *msgpack.Decoder {
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	dec.SetCustomStructTag("json")
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
	return dec
}

func (msgpackSerializer) Decode(b []byte, e *Envelope) error {
	var w msgpackEnvelope
	if err := newMsgpackDecoder(b).Decode(&w); err != nil {
		return fmt.Errorf("serializer: msgpack decode: %w", err)
	}
	*e = Envelope{Event: w.Event, Path: w.Path, Origin: w.Origin, Context: w.Context}
	if len(w.Data) > 0 && !(len(w.Data) == 1 && w.Data[0] == 0xc0) { // 0xc0 is nil
		e.Data = w.Data
	}
	if e.Context != nil {
		e.Context.Result = nil
	}
	return checkEnvelope("msgpack", e)
}

func (msgpackSerializer) DecodeData(data []byte, v any) error {
	if err := newMsgpackDecoder(data).Decode(v); err != nil {
		return fmt.Errorf("serializer: msgpack decode data: %w", err)
	}
	return nil
}
