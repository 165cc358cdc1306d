package serializer_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/eventsync/eventsync/serializer"
)

// Every built-in serializer numbers a message once it has encoded it, and
// the number and epoch come back on decode.
func TestEncodeNumbered(t *testing.T) {
	for _, s := range all {
		n, ok := s.(serializer.Numberer)
		if !ok {
			t.Fatalf("%s does not implement Numberer", s.Name())
		}
		for _, seq := range []uint64{1, 127, 1 << 40, math.MaxInt64} {
			m := message()
			m.Epoch = 1<<53 - 1
			m.Seq = 99 // ignored
			var sized int
			b, err := n.EncodeNumbered(m, func(size int) (uint64, error) { sized = size; return seq, nil })
			if err != nil {
				t.Fatalf("%s: %v", s.Name(), err)
			}
			if grew := len(b) - sized; grew <= 0 || grew > serializer.MaxSeqBytes {
				t.Fatalf("%s: the number added %d bytes, want 1 to %d", s.Name(), grew, serializer.MaxSeqBytes)
			}
			var e serializer.Envelope
			if err := s.Decode(b, &e); err != nil {
				t.Fatalf("%s: %v", s.Name(), err)
			}
			if e.Seq != seq || e.Epoch != 1<<53-1 || e.Origin != m.Origin || e.Event != "created" {
				t.Fatalf("%s: decoded %+v, want seq %d", s.Name(), e, seq)
			}
			m.Seq = seq // Encode with the number writes the same bytes
			if plain, err := s.Encode(m); err != nil || string(plain) != string(b) {
				t.Fatalf("%s: Encode with Seq differs from EncodeNumbered: %v", s.Name(), err)
			}
		}
		// A message that fails to encode never asks for a number; a refused
		// number fails the encoding with the caller's error.
		bad := message()
		bad.Data = map[string]any{"x": math.NaN(), "c": make(chan int)}
		if s.Name() == "bson" {
			bad.Data = map[string]any{"u": uint64(math.MaxUint64)}
		}
		if s.Name() == "msgpack" {
			bad.Data = map[string]any{"c": make(chan int)}
		}
		asked := false
		if _, err := n.EncodeNumbered(bad, func(int) (uint64, error) { asked = true; return 1, nil }); err == nil || asked {
			t.Fatalf("%s: unencodable data: err %v, number asked %v", s.Name(), err, asked)
		}
		refused := errors.New("too large")
		if _, err := n.EncodeNumbered(message(), func(int) (uint64, error) { return 0, refused }); err != refused {
			t.Fatalf("%s: refused number: %v", s.Name(), err)
		}
	}
}

// A record whose interface field holds a map is comparable as a type, but
// == panics on it: encoding the event (whose context result is the same
// record) must not.
func TestEncodeRecordWithMapInInterface(t *testing.T) {
	type rec struct {
		ID    int `json:"id"`
		Extra any `json:"extra"`
		Arr   [1]any
	}
	v := rec{ID: 1, Extra: map[string]any{"k": []any{1.0}}, Arr: [1]any{[]int{1}}}
	for _, s := range all {
		m := &serializer.Message{Event: "created", Path: "things", Data: v,
			Context: &serializer.Context{Method: "create", Result: v}}
		b, err := s.Encode(m)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		var e serializer.Envelope
		if err := s.Decode(b, &e); err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
	}
}

// A message with an envelope member twice is refused by both JSON decoders
// alike: a decoder that kept the first "path" for the data and reported
// the last one would let a message say two things at once.
func TestRepeatedEnvelopeMembersRefused(t *testing.T) {
	typed := serializer.JSON.(serializer.TypedDecoder)
	for _, msg := range []string{
		`{"event":"created","path":"todos","data":{"id":1},"path":"users"}`,
		`{"event":"created","path":"todos","data":{"id":1},"event":"removed"}`,
		`{"event":"created","path":"todos","data":{"id":1},"data":{"id":2}}`,
		`{"origin":"a","origin":"b","event":"created","path":"todos","data":null}`,
		`{"event":"created","path":"todos","seq":1,"seq":2,"data":null}`,
		`{"event":"created","path":"todos","data":null,"context":null,"context":{}}`,
	} {
		var e serializer.Envelope
		if err := serializer.JSON.Decode([]byte(msg), &e); err == nil || !strings.Contains(err.Error(), "repeated") {
			t.Errorf("Decode(%s) = %v, want a repeated-member error", msg, err)
		}
		_, _, err := typed.DecodeTyped([]byte(msg), &e, func(path, event string) (reflect.Type, bool) { return nil, true })
		if err == nil || !strings.Contains(err.Error(), "repeated") {
			t.Errorf("DecodeTyped(%s) = %v, want a repeated-member error", msg, err)
		}
	}
}
