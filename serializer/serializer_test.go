package serializer_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync/serializer"
)

var all = []serializer.Serializer{serializer.JSON, serializer.MsgPack, serializer.BSON}

type todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

func message() *serializer.Message {
	rec := todo{ID: 1, Title: strings.Repeat("t", 200), Done: true}
	return &serializer.Message{
		Event: "created", Path: "todos", Data: rec, Origin: "0123456789abcdef",
		Context: &serializer.Context{Method: "create", Path: "todos", Type: "after", Event: "created",
			Result: rec, Params: map[string]any{"provider": "rest"}},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, s := range all {
		b, err := s.Encode(message())
		if err != nil {
			t.Fatal(s.Name(), err)
		}
		var e serializer.Envelope
		if err := s.Decode(b, &e); err != nil {
			t.Fatal(s.Name(), err)
		}
		var got todo
		if err := s.DecodeData(e.Data, &got); err != nil {
			t.Fatal(s.Name(), err)
		}
		c := e.Context
		if e.Event != "created" || e.Path != "todos" || e.Origin != "0123456789abcdef" || got.ID != 1 || len(got.Title) != 200 ||
			c == nil || c.Method != "create" || c.Type != "after" || c.Params["provider"] != "rest" {
			t.Fatalf("%s: %+v %+v %+v", s.Name(), e, c, got)
		}
		if r, ok := s.(serializer.OriginReader); ok {
			if o, ok := r.OriginOf(b); !ok || string(o) != "0123456789abcdef" {
				t.Fatalf("%s: OriginOf = %q %v", s.Name(), o, ok)
			}
		}
	}
}

// The JSON wire matches what encoding/json makes of the same message, member
// for member, so hand-writing the envelope changed nothing a peer can see.
func TestJSONWireEqualsEncodingJSON(t *testing.T) {
	m := message()
	m.Context.ID = 5
	ours, err := serializer.JSON.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	theirs, _ := json.Marshal(m)
	var a, b any
	json.Unmarshal(ours, &a)
	json.Unmarshal(theirs, &b)
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	if !bytes.Equal(ab, bb) {
		t.Fatalf("wire differs:\nours   %s\ntheirs %s", ab, bb)
	}
	if !bytes.HasPrefix(ours, []byte(`{"origin":"0123456789abcdef","event":"created"`)) {
		t.Fatalf("origin not first: %s", ours[:60])
	}
}

func TestDecodeRejects(t *testing.T) {
	bad := [][]byte{nil, []byte("{}"), []byte(`{"event":"x"}`), []byte(`{"event":1,"path":"p"}`), []byte(`{"event":"e","path":"p"} trailing`),
		[]byte(`{"event":"e","path":"p","data":{`), []byte(strings.Repeat("[", 100000)), []byte{0x85, 0xa5}, []byte{0xff, 0xff, 0xff, 0x7f, 0x02}}
	for _, s := range all {
		for _, b := range bad {
			var e serializer.Envelope
			if err := s.Decode(b, &e); err == nil {
				t.Errorf("%s accepted %q", s.Name(), b)
			}
		}
	}
	if _, err := serializer.ByName("yaml"); err == nil {
		t.Error("unknown serializer name accepted")
	}
}

// fuzzDecode runs any input through a serializer's decode path: it may fail,
// never panic.
func fuzzDecode(f *testing.F, s serializer.Serializer) {
	for _, m := range []*serializer.Message{message(), {Event: "custom", Path: "p", Data: []any{1, "x", nil}}} {
		b, _ := s.Encode(m)
		f.Add(b)
	}
	f.Add([]byte(`{"event":"created","path":"todos","data":{"id":"x"},"context":{"id":[1],"params":{"query":{}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e serializer.Envelope
		if s.Decode(b, &e) != nil {
			return
		}
		var generic any
		_ = s.DecodeData(e.Data, &generic)
		var typed todo
		_ = s.DecodeData(e.Data, &typed)
		if r, ok := s.(serializer.OriginReader); ok {
			r.OriginOf(b)
		}
	})
}

func FuzzDecodeJSON(f *testing.F)    { fuzzDecode(f, serializer.JSON) }
func FuzzDecodeMsgPack(f *testing.F) { fuzzDecode(f, serializer.MsgPack) }
func FuzzDecodeBSON(f *testing.F)    { fuzzDecode(f, serializer.BSON) }

// BenchmarkSerializers: encode plus decode (envelope and typed data) of one
// service event with a 256-byte record.
func BenchmarkSerializers(b *testing.B) {
	for _, s := range all {
		b.Run(s.Name(), func(b *testing.B) {
			m := message()
			m.Context.Result = m.Data
			enc, _ := s.Encode(m)
			b.ReportMetric(float64(len(enc)), "bytes/event")
			b.ReportAllocs()
			for range b.N {
				buf, err := s.Encode(m)
				if err != nil {
					b.Fatal(err)
				}
				var e serializer.Envelope
				if err := s.Decode(buf, &e); err != nil {
					b.Fatal(err)
				}
				var t todo
				if err := s.DecodeData(e.Data, &t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeTyped is the receiving side's decode of one message, as the
// Sync does it: envelope, context and the data into the record type, for an
// emitted event (no context) and for a service call's (the context carries
// the record again as its result).
func BenchmarkDecodeTyped(b *testing.B) {
	td := serializer.JSON.(serializer.TypedDecoder)
	todoType := reflect.TypeFor[todo]()
	typeOf := func(string, string) (reflect.Type, bool) { return todoType, true }
	for _, withContext := range []bool{false, true} {
		m := message()
		m.Seq = 123456789
		m.Context.Result = m.Data
		name := "create"
		if !withContext {
			m.Context, name = nil, "emit"
		}
		msg, err := serializer.JSON.Encode(m)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var e serializer.Envelope
			for range b.N {
				if _, decoded, err := td.DecodeTyped(msg, &e, typeOf); err != nil || !decoded {
					b.Fatal(err)
				}
			}
		})
	}
}

// A valid document with an exotic value made the driver's streaming decoder
// read a 2 GB string length and allocate it; it must be refused at once.
func TestBSONExoticTypeRefused(t *testing.T) {
	m := message()
	b, _ := serializer.BSON.Encode(m)
	// Turn the type of "origin" (a string) into JavaScript code (0x0d).
	i := bytes.Index(b, []byte("\x02origin\x00"))
	b[i] = 0x0d
	var e serializer.Envelope
	if err := serializer.BSON.Decode(b, &e); err == nil || !strings.Contains(err.Error(), "unsupported BSON type") {
		t.Fatalf("exotic type: %v", err)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestJSONContextValues(t *testing.T) {
	msg := `{"event":"e","path":"p","context":{"id":-12.5e1,"params":{"provider":"rest","query":{"a":[1,"x"]},"n":3,"esc":"a\"b"}}}`
	var e serializer.Envelope
	if err := serializer.JSON.Decode([]byte(msg), &e); err != nil {
		t.Fatal(err)
	}
	p := e.Context.Params
	if e.Context.ID != -125.0 || p["provider"] != "rest" || p["n"] != 3.0 || p["esc"] != `a"b` ||
		p["query"].(map[string]any)["a"].([]any)[1] != "x" {
		t.Fatalf("context: %#v %#v", e.Context.ID, p)
	}
	for _, bad := range []string{`NaN`, `Infinity`, `0x10`, `[1,`} {
		m := `{"event":"e","path":"p","context":{"id":` + bad + `}}`
		if err := serializer.JSON.Decode([]byte(m), &e); err == nil {
			t.Errorf("id %s accepted: %#v", bad, e.Context.ID)
		}
	}
}

// FuzzDecodeTyped: DecodeTyped agrees with Decode followed by DecodeData.
func FuzzDecodeTyped(f *testing.F) {
	m := message()
	m.Context.Result = m.Data
	b, _ := serializer.JSON.Encode(m)
	f.Add(b)
	for _, s := range []string{
		`{"event":"created","path":"todos","data":{"id":"x"},"context":null}`,
		`{"data":{"id":1},"event":"created","path":"todos"}`,
		`{"event":"created","path":"todos","data":null}`,
		`{"event":"created","path":"other","data":[1,2]}`,
		`{"event":"created","path":"todos","data":{"id":1,"title":"t"} ,"context":{"method":"create"}}`,
		`{"event":"created","path":"todos","data":{"id":1},"data":{"id":2}}`,
		// The context's result, read by comparing it with the data: the
		// same value, a longer one the data is a prefix of, broken ones.
		`{"event":"created","path":"todos","data":{"id":1},"context":{"result":{"id":1},"method":"create"}}`,
		`{"event":"created","path":"any","data":1,"context":{"result":12,"method":"x"}}`,
		`{"event":"created","path":"any","data":1,"context":{"result":1 ,"method":"x"}}`,
		`{"event":"created","path":"any","data":"a","context":{"result":"ab"}}`,
		`{"event":"created","path":"any","data":true,"context":{"result":trueish}}`,
		`{"event":"created","path":"todos","data":{"id":1},"context":{"result":{"id":1}"method":"create"}}`,
		`{"event":"created","path":"todos","data":{"id":1},"context":{"result":{"id":1}`,
		`{"event":"created","path":"todos","data":null,"context":{"result":null}}`,
		`{"event":"created","path":"todos","data":{"id":1},"context":{"result":{"id":2}},"origin":"o"}`,
	} {
		f.Add([]byte(s))
	}
	td := serializer.JSON.(serializer.TypedDecoder)
	todoType := reflect.TypeFor[todo]()
	typeOf := func(path, _ string) (reflect.Type, bool) {
		switch path {
		case "todos":
			return todoType, true
		case "any":
			return nil, true
		}
		return nil, false
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got serializer.Envelope
		wantErr := serializer.JSON.Decode(b, &want)
		data, decoded, err := td.DecodeTyped(b, &got, typeOf)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: DecodeTyped error %v, Decode error %v", b, err, wantErr)
		}
		if err != nil {
			return
		}
		if got.Event != want.Event || got.Path != want.Path || got.Origin != want.Origin || got.Seq != want.Seq ||
			!reflect.DeepEqual(got.Context, want.Context) {
			t.Fatalf("%q: envelope %+v, Decode gave %+v", b, got, want)
		}
		if !decoded { // the caller decodes Data: it must be Decode's
			if !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("%q: data left as %q, Decode gave %q", b, got.Data, want.Data)
			}
			return
		}
		typ, ok := typeOf(want.Path, want.Event)
		if !ok {
			t.Fatalf("%q: decoded data of an unknown type", b)
		}
		var wantData any
		if typ == nil {
			if want.Data != nil {
				_ = serializer.JSON.DecodeData(want.Data, &wantData)
			}
		} else {
			v := reflect.New(typ)
			if want.Data != nil {
				if err := serializer.JSON.DecodeData(want.Data, v.Interface()); err != nil {
					t.Fatalf("%q: decoded, but DecodeData fails: %v", b, err)
				}
			}
			wantData = v.Elem().Interface()
		}
		if !reflect.DeepEqual(data, wantData) {
			t.Fatalf("%q: data %#v, DecodeData gave %#v", b, data, wantData)
		}
	})
}
