package serializer

import (
	"bytes"
	"fmt"
	"reflect"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// BSON encodes each message as one BSON document with the MongoDB driver's
// bson package. It keeps int64 exact, []byte as binary, NaN and infinities,
// and time.Time at millisecond precision in UTC (BSON datetimes hold
// milliseconds). uint64 values above 2^63-1 cannot be encoded. Struct fields
// use their bson tags, or json tags when none is set. Nested documents decode
// into map[string]any where the target type leaves the choice open.
var BSON Serializer = bsonSerializer{}

type bsonSerializer struct{}

func (bsonSerializer) Name() string { return "bson" }

func (bsonSerializer) Encode(m *Message) ([]byte, error) {
	var buf bytes.Buffer
	vw := bson.NewDocumentWriter(&buf)
	enc := bson.NewEncoder(vw)
	enc.UseJSONStructTags()
	enc.NilMapAsEmpty()
	enc.NilSliceAsEmpty()
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("serializer: bson encode %s %s: %w", m.Path, m.Event, err)
	}
	return buf.Bytes(), nil
}

type bsonEnvelope struct {
	Event   string        `bson:"event"`
	Path    string        `bson:"path"`
	Origin  string        `bson:"origin"`
	Data    bson.RawValue `bson:"data"`
	Context *Context      `bson:"context"`
}

func newBSONDecoder(b []byte) *bson.Decoder {
	dec := bson.NewDecoder(bson.NewDocumentReader(bytes.NewReader(b)))
	dec.DefaultDocumentMap()
	dec.UseJSONStructTags()
	dec.BinaryAsSlice()
	return dec
}

// Decode keeps the whole document as Envelope.Data: DecodeData reads the
// "data" field from it with the target type in hand.
func (bsonSerializer) Decode(b []byte, e *Envelope) error {
	var w bsonEnvelope
	if err := newBSONDecoder(b).Decode(&w); err != nil {
		return fmt.Errorf("serializer: bson decode: %w", err)
	}
	*e = Envelope{Event: w.Event, Path: w.Path, Origin: w.Origin, Context: w.Context}
	if w.Data.Type != 0 && w.Data.Type != bson.TypeNull {
		e.Data = b
	}
	if e.Context != nil {
		e.Context.Result = nil
	}
	return checkEnvelope("bson", e)
}

func (bsonSerializer) DecodeData(doc []byte, v any) error {
	target := reflect.ValueOf(v)
	if target.Kind() != reflect.Pointer || target.IsNil() {
		return fmt.Errorf("serializer: bson decode data: target must be a non-nil pointer, not %T", v)
	}
	holder := reflect.New(reflect.StructOf([]reflect.StructField{{
		Name: "Data", Type: target.Elem().Type(), Tag: `bson:"data"`,
	}}))
	if err := newBSONDecoder(doc).Decode(holder.Interface()); err != nil {
		return fmt.Errorf("serializer: bson decode data: %w", err)
	}
	target.Elem().Set(holder.Elem().Field(0))
	return nil
}
