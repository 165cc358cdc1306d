package serializer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// BSON encodes each message as one BSON document with the MongoDB driver's
// bson package. It keeps int64 exact, []byte as binary, NaN and infinities,
// and time.Time at millisecond precision in UTC (BSON datetimes hold
// milliseconds). uint64 values above 2^63-1 cannot be encoded. Struct fields
// use their bson tags, or json tags when none is set. Nested documents decode
// into map[string]any where the target type leaves the choice open, and
// generic integers as int32 or int64. Nil slices and maps are encoded as
// empty ones, so nil and empty do not stay apart.
var BSON Serializer = bsonSerializer{}

type bsonSerializer struct{}

func (bsonSerializer) Name() string { return "bson" }

func (s bsonSerializer) Encode(m *Message) ([]byte, error) { return s.encode(m, nil) }

// EncodeNumbered implements Numberer: "seq" becomes the document's last
// element.
func (s bsonSerializer) EncodeNumbered(m *Message, number func(size int) (uint64, error)) ([]byte, error) {
	unnumbered := *m
	unnumbered.Seq = 0
	return s.encode(&unnumbered, number)
}

func (bsonSerializer) encode(m *Message, number func(size int) (uint64, error)) ([]byte, error) {
	var buf bytes.Buffer
	vw := bson.NewDocumentWriter(&buf)
	enc := bson.NewEncoder(vw)
	enc.UseJSONStructTags()
	enc.NilMapAsEmpty()
	enc.NilSliceAsEmpty()
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("serializer: bson encode %s %s: %w", m.Path, m.Event, err)
	}
	b := buf.Bytes()
	if number == nil {
		return b, nil
	}
	seq, err := number(len(b))
	if err != nil {
		return nil, err
	}
	if seq > math.MaxInt64 {
		return nil, fmt.Errorf("serializer: bson encode %s %s: seq %d over int64", m.Path, m.Event, seq)
	}
	// Before the document's closing zero byte: type, name, value.
	b = append(b[:len(b)-1], 0x12, 's', 'e', 'q', 0)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = append(b, 0)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b, nil
}

type bsonEnvelope struct {
	Event   string        `bson:"event"`
	Path    string        `bson:"path"`
	Origin  string        `bson:"origin"`
	Epoch   int64         `bson:"epoch"`
	Seq     int64         `bson:"seq"`
	Data    bson.RawValue `bson:"data"`
	Context *Context      `bson:"context"`
}

// bsonRegistry decodes arrays in generic data as []any rather than bson.A,
// so that listeners see the same types as with JSON.
var bsonRegistry = func() *bson.Registry {
	r := bson.NewRegistry()
	r.RegisterTypeMapEntry(bson.TypeArray, reflect.TypeFor[[]any]())
	return r
}()

func newBSONDecoder(b []byte) *bson.Decoder {
	dec := bson.NewDecoder(bson.NewDocumentReader(bytes.NewReader(b)))
	dec.SetRegistry(bsonRegistry)
	dec.DefaultDocumentMap()
	dec.UseJSONStructTags()
	dec.BinaryAsSlice()
	return dec
}

// Decode keeps the whole document as Envelope.Data: DecodeData reads the
// "data" field from it with the target type in hand.
func (bsonSerializer) Decode(b []byte, e *Envelope) error {
	// Check first: the driver's streaming decoder misreads some valid but
	// exotic values (JavaScript, DBPointer and the like) and then allocates
	// whatever length it reads, gigabytes included (found by FuzzDecodeBSON).
	if err := checkBSON(b, 0); err != nil {
		return fmt.Errorf("serializer: bson decode: %w", err)
	}
	var w bsonEnvelope
	if err := newBSONDecoder(b).Decode(&w); err != nil {
		return fmt.Errorf("serializer: bson decode: %w", err)
	}
	*e = Envelope{Event: w.Event, Path: w.Path, Origin: w.Origin, Epoch: uint64(w.Epoch), Seq: uint64(w.Seq), Context: w.Context}
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
	if err := checkBSON(doc, 0); err != nil {
		return fmt.Errorf("serializer: bson decode data: %w", err)
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

// checkBSON validates doc and allows only the BSON types that Go values
// encode to, nested at most 100 deep.
func checkBSON(doc []byte, depth int) error {
	if depth > 100 {
		return fmt.Errorf("nested deeper than 100")
	}
	if err := bson.Raw(doc).Validate(); err != nil {
		return err
	}
	elems, err := bson.Raw(doc).Elements()
	if err != nil {
		return err
	}
	for _, e := range elems {
		v := e.Value()
		switch v.Type {
		case bson.TypeEmbeddedDocument, bson.TypeArray:
			if err := checkBSON(v.Value, depth+1); err != nil {
				return err
			}
		case bson.TypeDouble, bson.TypeString, bson.TypeBinary, bson.TypeBoolean, bson.TypeDateTime,
			bson.TypeNull, bson.TypeInt32, bson.TypeInt64, bson.TypeObjectID, bson.TypeDecimal128, bson.TypeTimestamp:
		default:
			return fmt.Errorf("unsupported BSON type %v in %q", v.Type, e.Key())
		}
	}
	return nil
}
