package serializer

import (
	"encoding/json"
	"hash/maphash"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

type fastKey string

type fastInner struct {
	N    int8     `json:"n"`
	F    float32  `json:"f,omitempty"`
	Tags []string `json:"tags"`
}

type fastUnmarshaler struct{ got string }

func (u *fastUnmarshaler) UnmarshalJSON(b []byte) error { u.got = "custom:" + string(b); return nil }

type fastRecord struct {
	ID       int64             `json:"id"`
	Title    string            `json:"title"`
	Done     bool              `json:"done"`
	U        uint16            // no tag: matched by name, case-insensitively
	Score    float64           `json:"score"`
	Any      any               `json:"any"`
	Ptr      *fastInner        `json:"ptr"`
	Inner    fastInner         `json:"inner"`
	List     []fastInner       `json:"list"`
	Bytes    []byte            `json:"bytes"`
	Map      map[string]int    `json:"map"`
	Named    map[fastKey]*int  `json:"named"`
	When     time.Time         `json:"when"`
	WhenP    *time.Time        `json:"whenp"`
	Self     *fastRecord       `json:"self"`
	Skipped  string            `json:"-"`
	Dash     string            `json:"-,"`
	BadTag   string            `json:"x'y"` // not a valid name: the field name is used
	Custom   *fastUnmarshaler  `json:"custom"`
	Nested   map[string][]any  `json:"nested"`
	Uintptr  uintptr           `json:"uintptr"`
	Floats   []float64         `json:"floats"`
	Iface    any               `json:"iface"`
	Strings  map[string]string `json:"strings"`
	unexport int
}

// fastOddKinds has omitempty on kinds encoding/json never treats as empty:
// it refuses to encode them, and so must the fast path.
type fastOddKinds struct {
	ID int            `json:"id"`
	F  func()         `json:"f,omitempty"`
	C  chan int       `json:"c,omitempty"`
	X  complex128     `json:"x,omitempty"`
	S  struct{}       `json:"s,omitempty"`
	A  [0]int         `json:"a,omitempty"`
	P  *fastOddKinds  `json:"p,omitempty"`
	M  map[string]int `json:"m,omitempty"`
}

// fastNumber holds a json.Number, which encoding/json treats apart: the
// fast paths must leave it alone.
type fastNumber struct {
	Number json.Number `json:"number"`
	ID     int         `json:"id"`
}

// checkFast is the fast path's contract: when it accepts an input, the
// value is what encoding/json produces from it.
func checkFast[T any](t *testing.T, data []byte) (fast bool) {
	t.Helper()
	var want T
	wantErr := json.Unmarshal(data, &want)
	var got T
	if !fastDecode(data, reflect.ValueOf(&got).Elem()) {
		return false
	}
	if wantErr != nil {
		t.Fatalf("fast path accepted %q, which encoding/json refuses: %v", data, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast path decoded %q into %#v; encoding/json into %#v", data, got, want)
	}
	return true
}

var fastSeeds = []string{
	`{"id":1,"title":"hello","done":true}`,
	`{"id":-42,"title":"` + strings.Repeat("x", 200) + `","done":false,"u":7,"score":1.5e3}`,
	`{"ID":1,"TITLE":"case","Done":true,"U":65535}`,
	`{"any":{"a":[1,"x",true,null,{"b":2.5}],"c":{}},"iface":[]}`,
	`{"ptr":{"n":-128,"f":3.25,"tags":["a","b"]},"inner":{"n":1,"tags":[]},"list":[{"n":2},{"tags":null}]}`,
	`{"bytes":"aGVsbG8=","map":{"a":1,"b":2},"named":{"k":3,"z":null}}`,
	`{"when":"2026-11-25T16:53:37.123456789+01:00","whenp":"2026-01-02T03:04:05Z"}`,
	`{"when":null,"whenp":null,"ptr":null,"list":null,"map":null,"any":null}`,
	`{"self":{"id":2,"self":{"id":3}}}`,
	`{"-":"dash","Skipped":"no","x'y":"no","BadTag":"yes"}`,
	`{"custom":{"x":1}}`,
	`{"title":"esc \"q\" \\ \/ \b\f\n\r\t \u00e9 \u4e2d","strings":{"k\u00e9y":"v"}}`,
	`{"title":"\ud83d\ude00"}`,
	`{"title":"héllo wörld 中文"}`,
	` { "id" : 1 , "title" : "sp" } `,
	`{"id":1,"id":2}`,
	`{"id":1.0}`,
	`{"id":1e2}`,
	`{"u":-1}`,
	`{"u":70000}`,
	`{"ptr":{"n":300}}`,
	`{"score":1e400}`,
	`{"id":9223372036854775807}`,
	`{"id":9223372036854775808}`,
	`{"id":01}`,
	`{"id":-}`,
	`{"title":"\x01"}`,
	`{"title":"\u12"}`,
	`{"title":"abc`,
	`{"id":1,}`,
	`{"id":1} x`,
	`[1,2]`,
	`null`,
	`"str"`,
	`{"nested":{"a":[[],{}],"b":null}}`,
	`{"uintptr":12,"floats":[1,2.5,-0,1e-7]}`,
	`{"unknown":{"deep":[1,{"x":"y"}]},"id":5}`,
	`{"unknown":tru}`,
	`{"title":"\uD800"}`,
	`{"title":"bad utf8 \xff"}`,
	`{"bytes":"not base64!"}`,
	`{"bytes":[1,2]}`,
	`{"number":12.5e3}`,
	`{"number":"12"}`,
	`{"number":"twelve"}`,
	`{"id":-9223372036854775808}`,
	`{"id":-9223372036854775809}`,
	`{"id":1795000000000000000,"u":-0}`,
	`{"id":12345678901234567890}`,
	`{"id":-0}`,
}

func FuzzFastDecode(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast[fastRecord](t, data)
		checkFast[*fastRecord](t, data)
		checkFast[any](t, data)
		checkFast[map[string]any](t, data)
		checkFast[[]int](t, data)
		checkFast[map[fastKey]fastInner](t, data)
		checkFast[fastNumber](t, data)
	})
}

// TestFastDecodeTakesCommonInput makes sure the fast path is not merely
// correct but used: ordinary records must not fall back.
func TestFastDecodeTakesCommonInput(t *testing.T) {
	for _, s := range fastSeeds[:15] {
		if s == `{"custom":{"x":1}}` {
			if checkFast[fastRecord](t, []byte(s)) {
				t.Errorf("a type with its own UnmarshalJSON took the fast path: %s", s)
			}
			continue
		}
		if !checkFast[fastRecord](t, []byte(s)) {
			t.Errorf("fell back to encoding/json: %s", s)
		}
	}
	for _, s := range []string{`{"a":[1,"x",{"b":null}],"c":true}`, `[]`, `"x"`, `1.5`, `null`} {
		if !checkFast[any](t, []byte(s)) {
			t.Errorf("generic decode fell back: %s", s)
		}
	}
}

func TestFastDecodeLeavesHardCasesToEncodingJSON(t *testing.T) {
	for _, s := range fastSeeds[15:] {
		checkFast[fastRecord](t, []byte(s)) // must not disagree
		var r fastRecord
		if err := JSON.DecodeData([]byte(s), &r); err == nil {
			var want fastRecord
			if json.Unmarshal([]byte(s), &want) != nil || !reflect.DeepEqual(r, want) {
				t.Errorf("DecodeData(%s) = %#v, encoding/json disagrees", s, r)
			}
		}
	}
}

// FuzzFastEncode: for every value encoding/json can build from the input,
// the fast encoder writes the same bytes as json.Marshal or gives up.
func FuzzFastEncode(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkEncode[fastRecord](t, data)
		checkEncode[any](t, data)
		checkEncode[map[fastKey]fastInner](t, data)
		checkEncode[fastNumber](t, data)
		checkEncode[fastOddKinds](t, data)
	})
}

func checkEncode[T any](t *testing.T, data []byte) (fast bool) {
	t.Helper()
	var v T
	if json.Unmarshal(data, &v) != nil {
		return false
	}
	want, wantErr := json.Marshal(v)
	got, ok := fastEncode(nil, reflect.ValueOf(v))
	if !ok {
		return false
	}
	if wantErr != nil {
		t.Fatalf("fast path encoded %#v, which encoding/json refuses: %v", v, wantErr)
	}
	if string(got) != string(want) {
		t.Fatalf("fast path wrote %s; encoding/json %s", got, want)
	}
	return true
}

func TestFastEncodeTakesCommonInput(t *testing.T) {
	for _, s := range fastSeeds[:15] {
		if s == `{"custom":{"x":1}}` {
			continue // fastUnmarshaler has no MarshalJSON: encodes as a struct
		}
		if !checkEncode[fastRecord](t, []byte(s)) {
			t.Errorf("fell back to encoding/json: %s", s)
		}
	}
	weird := map[string]any{"<&>": "\u2028\u2029\x01\"\\ \xff", "f": []any{1e21, 1e-7, 0.1, -0.0, float32(3.4)}}
	got, ok := fastEncode(nil, reflect.ValueOf(weird))
	want, _ := json.Marshal(weird)
	if !ok || string(got) != string(want) {
		t.Errorf("fast %v %s; encoding/json %s", ok, got, want)
	}
}

// BenchmarkData compares the fast paths with encoding/json on a 256-byte
// record: go test -run XXX -bench Data -benchmem ./serializer
func BenchmarkData(b *testing.B) {
	type todo struct {
		ID    int    `json:"id"`
		Title string `json:"title"`
		Done  bool   `json:"done"`
	}
	rec := todo{ID: 1, Title: strings.Repeat("x", 200), Done: true}
	raw, _ := json.Marshal(rec)
	b.Run("decode/fast", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var v todo
			if err := JSON.DecodeData(raw, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var v todo
			if err := json.Unmarshal(raw, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/fast", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte // reused, as Encode reuses its scratch buffer
		for range b.N {
			var err error
			if buf, err = appendJSON(buf[:0], rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := json.Marshal(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// parseUint accepts and returns exactly what strconv.ParseUint(s, 10, 64)
// does, around the overflow edge and for what is not plain digits.
func TestParseUintMatchesStrconv(t *testing.T) {
	inputs := []string{"", "0", "7", "00", "007", "42", "-1", "+1", "-0", "1.0", "1e3", " 1", "1 ", "1_0", "0x1",
		"9223372036854775807", "9223372036854775808", "18446744073709551609", "18446744073709551615",
		"18446744073709551616", "18446744073709551620", "99999999999999999999", "100000000000000000000", "/", ":"}
	for n := uint64(1); n != 0 && n < math.MaxUint64/3; n *= 3 {
		inputs = append(inputs, strconv.FormatUint(n, 10), strconv.FormatUint(n-1, 10))
	}
	for _, in := range inputs {
		want, err := strconv.ParseUint(in, 10, 64)
		got, ok := parseUint([]byte(in))
		if ok != (err == nil) || ok && got != want {
			t.Errorf("parseUint(%q) = %d, %v; strconv: %d, %v", in, got, ok, want, err)
		}
	}
}

// Names that hash to the same bucket of the intern cache all stay interned:
// decoding them again allocates nothing.
func TestInternedNamesShareABucket(t *testing.T) {
	bucket := -1
	for i := range interned {
		if interned[i][0].Load() == nil {
			bucket = i
			break
		}
	}
	if bucket < 0 {
		t.Skip("no empty bucket left in this process")
	}
	var raws [][]byte
	for i := 0; len(raws) < len(interned[bucket]); i++ {
		name := []byte(strconv.Itoa(i) + "-name")
		if maphash.Bytes(internSeed, name)%uint64(len(interned)) == uint64(bucket) {
			raws = append(raws, []byte(`"`+string(name)+`"`))
		}
	}
	decodeAll := func() {
		for _, raw := range raws {
			if s, err := jsonName(raw); err != nil || s != string(raw[1:len(raw)-1]) {
				t.Fatalf("jsonName(%s) = %q, %v", raw, s, err)
			}
		}
	}
	decodeAll()
	if allocs := testing.AllocsPerRun(100, decodeAll); allocs != 0 {
		t.Errorf("%d names of one bucket, decoded in turn: %v allocations a round, want 0", len(raws), allocs)
	}
}

// DecodeTyped's long strings without escapes point into the message; short
// ones, which would keep much more than themselves alive, and those with
// escapes (the decoder's unescape buffer is reused) are copies; DecodeData,
// whose caller may reuse its buffer, copies every string.
func TestDecodeTypedSharesLongPlainStrings(t *testing.T) {
	long := strings.Repeat("p", 80)
	msg := []byte(`{"event":"created","path":"todos","data":{"title":"` + long + `","-":"short","inner":{"tags":["a\"b","c\\d"]}}}`)
	typeOf := func(string, string) (reflect.Type, bool) { return reflect.TypeFor[fastRecord](), true }
	var e Envelope
	data, decoded, err := JSON.(TypedDecoder).DecodeTyped(msg, &e, typeOf)
	if err != nil || !decoded {
		t.Fatalf("DecodeTyped: decoded %v, err %v", decoded, err)
	}
	rec := data.(fastRecord)
	inMsg := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		base := uintptr(unsafe.Pointer(&msg[0]))
		return p >= base && p < base+uintptr(len(msg))
	}
	if rec.Title != long || !inMsg(rec.Title) {
		t.Errorf("title %q: want %q sharing the message's memory", rec.Title, long)
	}
	if rec.Dash != "short" || inMsg(rec.Dash) {
		t.Errorf("short string %q: want a copy of %q", rec.Dash, "short")
	}
	if want := []string{`a"b`, `c\d`}; !reflect.DeepEqual(rec.Inner.Tags, want) || inMsg(rec.Inner.Tags[0]) || inMsg(rec.Inner.Tags[1]) {
		t.Errorf("escaped tags %q: want copies of %q", rec.Inner.Tags, want)
	}

	var copied fastRecord
	if err := JSON.DecodeData(e.Data, &copied); err != nil {
		t.Fatal(err)
	}
	if copied.Title != long || inMsg(copied.Title) {
		t.Errorf("DecodeData's title %q shares the caller's buffer", copied.Title)
	}
}
