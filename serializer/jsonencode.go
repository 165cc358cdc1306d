package serializer

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The encoding twin of fastDecode: a plan per type, built once, writes the
// same bytes as encoding/json.Marshal (FuzzFastEncode compares them) for
// what records are made of, and gives up on the rest (types with their own
// marshalers other than time.Time, embedded structs, ",string", "omitzero",
// clashing names, non-string map keys, NaN and infinities, very deep or
// cyclic data), leaving those to encoding/json.

type encodePlan struct {
	kind   planKind
	typ    reflect.Type
	elem   *encodePlan
	fields []encodeField
}

type encodeField struct {
	key       string // `"name":`, escaped as encoding/json writes it
	index     int
	omitEmpty bool
	plan      *encodePlan
}

var (
	encodePlans planCache[encodePlan]

	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func encodePlanFor(t reflect.Type) *encodePlan { return encodePlans.get(t, buildEncodePlan) }

func implementsMarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(marshalerType) || t.Implements(textMarshalerType) ||
		pt.Implements(marshalerType) || pt.Implements(textMarshalerType)
}

func buildEncodePlan(t reflect.Type, building map[reflect.Type]*encodePlan) *encodePlan {
	if p, ok := encodePlans.known(t, building); ok {
		return p
	}
	p := &encodePlan{typ: t}
	building[t] = p
	if t == timeType {
		p.kind = pkTime
		return p
	}
	if t == numberType {
		return p // json.Number is written as a number, not a string
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && implementsMarshaler(t) {
		return p
	}
	p.kind = basicKind(t.Kind())
	switch t.Kind() {
	case reflect.Interface:
		p.kind = pkAny // any interface: the dynamic value decides
	case reflect.Pointer:
		// A pointer's marshaling methods are its element's: the element's plan
		// gives up on them (except time.Time's, which it writes the same way).
		p.kind, p.elem = pkPtr, buildEncodePlan(t.Elem(), building)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if !implementsMarshaler(t.Elem()) {
				p.kind = pkBytes
			}
		} else {
			p.kind, p.elem = pkSlice, buildEncodePlan(t.Elem(), building)
		}
	case reflect.Map:
		if k := t.Key(); k.Kind() == reflect.String && !implementsMarshaler(k) {
			p.kind, p.elem = pkMap, buildEncodePlan(t.Elem(), building)
		}
	case reflect.Struct:
		buildStructEncodePlan(p, t, building)
	}
	return p
}

func buildStructEncodePlan(p *encodePlan, t reflect.Type, building map[reflect.Type]*encodePlan) {
	jf, ok := jsonFields(t)
	if !ok {
		return
	}
	fields := make([]encodeField, len(jf))
	for i, f := range jf {
		if hasOption(f.opts, "omitzero") {
			return
		}
		fields[i] = encodeField{key: string(appendJSONString(nil, f.name)) + ":", index: f.index,
			omitEmpty: hasOption(f.opts, "omitempty"), plan: buildEncodePlan(f.typ, building)}
	}
	p.kind, p.fields = pkStruct, fields
}

// fastEncode appends v as JSON to buf, or reports false (buf then holds
// garbage past its original length) when encoding/json must do it.
func fastEncode(buf []byte, v reflect.Value) ([]byte, bool) {
	if !v.IsValid() {
		return append(buf, "null"...), true
	}
	e := fastEncoder{buf: buf}
	ok := e.value(encodePlanFor(v.Type()), v)
	return e.buf, ok
}

type fastEncoder struct {
	buf   []byte
	depth int
}

func (e *fastEncoder) value(p *encodePlan, v reflect.Value) bool {
	switch p.kind {
	case pkBool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case pkString:
		e.buf = appendJSONString(e.buf, v.String())
	case pkInt:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case pkUint:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case pkFloat:
		return e.float(v.Float(), v.Type().Bits())
	case pkAny:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return true
		}
		elem := v.Elem()
		return e.nested(encodePlanFor(elem.Type()), elem)
	case pkPtr:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return true
		}
		return e.nested(p.elem, v.Elem())
	case pkBytes:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return true
		}
		e.buf = append(e.buf, '"')
		e.buf = base64.StdEncoding.AppendEncode(e.buf, v.Bytes())
		e.buf = append(e.buf, '"')
	case pkSlice:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return true
		}
		e.buf = append(e.buf, '[')
		for i := range v.Len() {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if !e.nested(p.elem, v.Index(i)) {
				return false
			}
		}
		e.buf = append(e.buf, ']')
	case pkMap:
		return e.mapValue(p, v)
	case pkStruct:
		e.buf = append(e.buf, '{')
		first := true
		for i := range p.fields {
			f := &p.fields[i]
			fv := v.Field(f.index)
			if f.omitEmpty && isEmptyValue(fv) {
				continue
			}
			if !first {
				e.buf = append(e.buf, ',')
			}
			first = false
			e.buf = append(e.buf, f.key...)
			if !e.nested(f.plan, fv) {
				return false
			}
		}
		e.buf = append(e.buf, '}')
	case pkTime:
		t := v.Interface().(time.Time)
		b, err := t.MarshalJSON()
		if err != nil {
			return false
		}
		e.buf = append(e.buf, b...)
	default:
		return false
	}
	return true
}

// nested encodes a value one level down, giving up where encoding/json
// would start looking for cycles.
func (e *fastEncoder) nested(p *encodePlan, v reflect.Value) bool {
	e.depth++
	ok := e.depth <= maxFastDepth && e.value(p, v)
	e.depth--
	return ok
}

// float writes f as encoding/json does: like ES6, %g-ish with exponents
// only for very small or large magnitudes.
func (e *fastEncoder) float(f float64, bits int) bool {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	e.buf = strconv.AppendFloat(e.buf, f, format, -1, bits)
	if format == 'e' { // e-09 -> e-9
		n := len(e.buf)
		if n >= 4 && e.buf[n-4] == 'e' && e.buf[n-3] == '-' && e.buf[n-2] == '0' {
			e.buf[n-2] = e.buf[n-1]
			e.buf = e.buf[:n-1]
		}
	}
	return true
}

func (e *fastEncoder) mapValue(p *encodePlan, v reflect.Value) bool {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return true
	}
	keys := make([]string, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		keys = append(keys, it.Key().String())
	}
	slices.SortFunc(keys, strings.Compare)
	e.buf = append(e.buf, '{')
	kt := p.typ.Key()
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendJSONString(e.buf, k)
		e.buf = append(e.buf, ':')
		kv := reflect.ValueOf(k)
		if kv.Type() != kt {
			kv = kv.Convert(kt)
		}
		if !e.nested(p.elem, v.MapIndex(kv)) {
			return false
		}
	}
	e.buf = append(e.buf, '}')
	return true
}

// isEmptyValue is encoding/json's: only these kinds are ever empty, so that
// a func, chan or complex field with omitempty fails the encoding there as
// here.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

const hexDigits = "0123456789abcdef"

// plainJSON marks the bytes that a JSON string holds as they are, both ways:
// printable ASCII but the quote, the backslash and (as encoding/json writes
// them) <, > and &.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// plainRunWords is plainRun in Go (plainrun_amd64.s is the same sixteen
// bytes at a time): it tests eight bytes at a time (string contents
// are most of what is scanned, and a table lookup a byte was a tenth of the
// core path): m gets the top bit of each byte that is below 0x20, from 0x80
// up, or one of the five, where (v-ones)&^v has the top bit of each zero byte
// of v; masking one bit finds two of them at once (" and & differ in 0x04
// only, < and > in 0x02). Only m's lowest set bit is exact (a match may set
// bits above it by borrowing), and it is the only one used.
func plainRunWords(s string, i int) int {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		quoteAmp := (x ^ '"'*ones) &^ (0x04 * ones)
		angles := (x ^ '<'*ones) &^ (0x02 * ones)
		backslash := x ^ '\\'*ones
		m := x | (x-0x20*ones)&^x | (quoteAmp-ones)&^quoteAmp | (angles-ones)&^angles | (backslash-ones)&^backslash
		if m &= tops; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(s) && plainJSON[s[i]] {
		i++
	}
	return i
}

// appendJSONString writes s as encoding/json does, HTML characters,
// U+2028 and U+2029 escaped and invalid UTF-8 replaced.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if i = plainRun(s, i); i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			buf = append(buf, s[start:i]...)
			switch c {
			case '\\', '"':
				buf = append(buf, '\\', c)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
