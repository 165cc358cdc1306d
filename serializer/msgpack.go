package serializer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// MsgPack encodes messages with MessagePack (github.com/vmihailenco/msgpack/v5).
// It keeps int64 and uint64 exact, carries []byte as binary, NaN and
// infinities as floats, and time.Time as the msgpack timestamp extension
// (the instant is exact; the location comes back as time.Local). In
// generic data (any, maps), integers decode as int64 or uint64 and floats as
// float64; nil and empty slices and maps stay apart.
// Struct fields use their msgpack tags, or json tags when none is set.
var MsgPack Serializer = msgpackSerializer{}

type msgpackSerializer struct{}

func (msgpackSerializer) Name() string { return "msgpack" }

// Encode writes into a pooled buffer and copies the message out (see
// ownedCopy): growing a new buffer per message cost a tenth of the encoding
// time.
func (s msgpackSerializer) Encode(m *Message) ([]byte, error) { return s.encode(m, nil) }

// EncodeNumbered implements Numberer: the map gets one more member, "seq",
// at its end.
func (s msgpackSerializer) EncodeNumbered(m *Message, number func(size int) (uint64, error)) ([]byte, error) {
	unnumbered := *m
	unnumbered.Seq = 0
	return s.encode(&unnumbered, number)
}

func (msgpackSerializer) encode(m *Message, number func(size int) (uint64, error)) ([]byte, error) {
	buf := msgpackBuffers.Get().(*bytes.Buffer)
	defer msgpackBuffers.Put(buf)
	buf.Reset()
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(buf)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("serializer: msgpack encode %s %s: %w", m.Path, m.Event, err)
	}
	if number != nil {
		b := buf.Bytes()
		if len(b) == 0 || b[0]&0xf0 != 0x80 || b[0] == 0x8f {
			return nil, fmt.Errorf("serializer: msgpack encode %s %s: not a small map", m.Path, m.Event)
		}
		seq, err := number(len(b))
		if err != nil {
			return nil, err
		}
		b[0]++ // one more member
		buf.WriteString("\xa3seq")
		buf.Write(appendMsgpackUint(buf.AvailableBuffer(), seq))
	}
	out := ownedCopy(buf.Bytes())
	if buf.Cap() > maxScratch {
		*buf = bytes.Buffer{} // let a rare large message's memory go
	}
	return out, nil
}

// appendMsgpackUint appends v in the shortest form, as the encoder's
// compact ints write it.
func appendMsgpackUint(b []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

var msgpackBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// msgpackEnvelope and msgpackContext read what Encode writes; the context's
// result is skipped (the event data stands for it).
type msgpackEnvelope struct {
	Event   string             `msgpack:"event"`
	Path    string             `msgpack:"path"`
	Origin  string             `msgpack:"origin"`
	Epoch   uint64             `msgpack:"epoch"`
	Seq     uint64             `msgpack:"seq"`
	Data    msgpack.RawMessage `msgpack:"data"`
	Context *msgpackContext    `msgpack:"context"`
}

type msgpackContext struct {
	Method string         `msgpack:"method"`
	Path   string         `msgpack:"path"`
	Type   string         `msgpack:"type"`
	ID     any            `msgpack:"id"`
	Event  string         `msgpack:"event"`
	Params map[string]any `msgpack:"params"`
}

// decodeMsgpack decodes b into v with a pooled decoder set up for
// eventsync: json tags, generic numbers as int64/uint64/float64 and maps as
// map[string]any, as with JSON.
func decodeMsgpack(b []byte, v any) error {
	dec := msgpack.GetDecoder()
	defer msgpack.PutDecoder(dec)
	dec.Reset(bytes.NewReader(b))
	dec.SetCustomStructTag("json")
	dec.UseLooseInterfaceDecoding(true)
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeMap() })
	return dec.Decode(v)
}

func (msgpackSerializer) Decode(b []byte, e *Envelope) error {
	var w msgpackEnvelope
	if err := decodeMsgpack(b, &w); err != nil {
		return fmt.Errorf("serializer: msgpack decode: %w", err)
	}
	*e = Envelope{Event: w.Event, Path: w.Path, Origin: w.Origin, Epoch: w.Epoch, Seq: w.Seq}
	if len(w.Data) > 0 && !(len(w.Data) == 1 && w.Data[0] == 0xc0) { // 0xc0 is nil
		e.Data = w.Data
	}
	if c := w.Context; c != nil {
		e.Context = &Context{Method: c.Method, Path: c.Path, Type: c.Type, ID: c.ID, Event: c.Event, Params: c.Params}
	}
	return checkEnvelope("msgpack", e)
}

func (msgpackSerializer) DecodeData(data []byte, v any) error {
	if err := decodeMsgpack(data, v); err != nil {
		return fmt.Errorf("serializer: msgpack decode data: %w", err)
	}
	return nil
}
