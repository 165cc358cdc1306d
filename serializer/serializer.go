// Package serializer turns eventsync messages into bytes and back. JSON is the
// default and speaks the feathers-sync wire format; MsgPack and BSON are
// denser and carry types JSON cannot (see docs/wire.md).
//
// All replicas on one key must use the same serializer: a message in another
// format fails to decode and is counted as malformed, never misread.
package serializer

import (
	"fmt"
	"reflect"
	"strings"
)

// Message is one event as it is published.
type Message struct {
	Event   string   `json:"event" msgpack:"event" bson:"event"`
	Path    string   `json:"path" msgpack:"path" bson:"path"`
	Data    any      `json:"data" msgpack:"data" bson:"data"`
	Context *Context `json:"context" msgpack:"context" bson:"context"`
	Origin  string   `json:"origin,omitempty" msgpack:"origin,omitempty" bson:"origin,omitempty"`
	// Epoch tells one run of an origin from the next: a replica restarted
	// under the same origin numbers its messages from 1 again, in a new
	// epoch. Zero means none. At most 2^53-1, so that JavaScript and BSON
	// peers read it exactly.
	Epoch uint64 `json:"epoch,omitempty" msgpack:"epoch,omitempty" bson:"epoch,omitempty"`
	// Seq numbers the messages of one origin's epoch, so that receivers can
	// drop the repeats that a retried batch produces and count what never
	// arrived. Zero means none. It is the last member written (see Numberer).
	Seq uint64 `json:"seq,omitempty" msgpack:"seq,omitempty" bson:"seq,omitempty"`
}

// Context is the part of a hook context that travels with a service event.
// Only allowlisted params are put in Params. Result is only encoded: on receipt
// the event data stands for it.
type Context struct {
	Method string         `json:"method,omitempty" msgpack:"method,omitempty" bson:"method,omitempty"`
	Path   string         `json:"path,omitempty" msgpack:"path,omitempty" bson:"path,omitempty"`
	Type   string         `json:"type,omitempty" msgpack:"type,omitempty" bson:"type,omitempty"`
	ID     any            `json:"id,omitempty" msgpack:"id,omitempty" bson:"id,omitempty"`
	Event  string         `json:"event,omitempty" msgpack:"event,omitempty" bson:"event,omitempty"`
	Result any            `json:"result,omitempty" msgpack:"result,omitempty" bson:"result,omitempty"`
	Params map[string]any `json:"params,omitempty" msgpack:"params,omitempty" bson:"params,omitempty"`
}

// Envelope is a decoded message whose data is still in the serializer's
// encoding, so that the receiver can decode it into the service's record type.
type Envelope struct {
	Event   string
	Path    string
	Origin  string
	Epoch   uint64
	Seq     uint64
	Data    []byte   // encoded data; nil when the message had none
	Context *Context // nil when the message had none (custom events)
}

// Serializer encodes messages and decodes envelopes. Implementations must be
// safe for concurrent use and must return an error, never panic, on any input.
type Serializer interface {
	// Name is the serializer's name as used in ?serializer= URI parameters.
	Name() string
	// Encode encodes m. It must not keep m after it returns: the Sync reuses it.
	Encode(m *Message) ([]byte, error)
	// Decode decodes b into e, leaving e.Data encoded. A message without an
	// event or path is an error.
	Decode(b []byte, e *Envelope) error
	// DecodeData decodes Envelope.Data into v, a non-nil pointer.
	DecodeData(data []byte, v any) error
}

// ByName returns the built-in serializer with the given name: "json",
// "msgpack" or "bson" (case-insensitive).
func ByName(name string) (Serializer, error) {
	switch strings.ToLower(name) {
	case "json", "":
		return JSON, nil
	case "msgpack":
		return MsgPack, nil
	case "bson":
		return BSON, nil
	}
	return nil, fmt.Errorf("serializer: unknown serializer %q (known: json, msgpack, bson)", name)
}

func checkEnvelope(format string, e *Envelope) error {
	if e.Event == "" || e.Path == "" {
		return fmt.Errorf("serializer: %s message without event or path", format)
	}
	return nil
}

// TypedDecoder is implemented by serializers that can decode the data into
// its Go type in the same pass as the envelope, instead of leaving it
// encoded for DecodeData (which then reads it a second time).
type TypedDecoder interface {
	// DecodeTyped is Decode that, once it knows the envelope's path and
	// event, asks typeOf for the data's type (nil: decode generically; ok
	// false: leave the data encoded in e.Data) and decodes the data into a
	// new value of it, as DecodeData would. decoded reports whether data is
	// that value; if not (no type, or data that does not fit it), the caller
	// decodes e.Data itself.
	//
	// Like e.Data, strings in data may share b's memory (JSON: those
	// without escapes and at least a quarter of b long, so that keeping one
	// keeps at most four times its size alive), so the caller must not
	// modify b afterwards. The Sync never does: an adapter hands each
	// message over for good (see eventsync.Adapter).
	DecodeTyped(b []byte, e *Envelope, typeOf func(path, event string) (t reflect.Type, ok bool)) (data any, decoded bool, err error)
}

// Numberer is implemented by serializers that can encode a message first
// and give it its sequence number afterwards, so that a message that fails
// to encode, or turns out too large to send, never uses up a number (its
// receivers would count the number as missed). The built-in serializers
// implement it.
type Numberer interface {
	// EncodeNumbered encodes m as Encode does, but with number's result as
	// its Seq (m.Seq is ignored). It calls number once, after everything
	// else is encoded, with the size of the message without the number;
	// when number returns an error, EncodeNumbered returns it unwrapped and
	// no message.
	EncodeNumbered(m *Message, number func(size int) (seq uint64, err error)) ([]byte, error)
}

// MaxSeqBytes bounds what a sequence number adds to a message, in any of
// the built-in formats.
const MaxSeqBytes = 32

// OriginReader is implemented by serializers that can read a message's
// origin without decoding it, so that a replica drops its own echoes cheaply.
// ok is false when the origin cannot be read that way; the message is then
// decoded as usual. origin is part of msg (no copy: this runs for every
// message received).
type OriginReader interface {
	OriginOf(msg []byte) (origin []byte, ok bool)
}
