package serializer

import (
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"maps"
	"math"
	"math/bits"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A fast path for decoding event data into its Go type.
//
// encoding/json validates the whole input, then decodes it a second time
// through reflection with lookups on every call; on the receiving side that
// was a third of all CPU (BENCHMARKS.md). fastDecode builds a plan per type
// once and decodes in one pass. It covers what records are made of (structs
// with json tags, strings, numbers, bools, pointers, slices, []byte, maps
// with string keys, any, time.Time) and gives up, returning false, on
// anything else: invalid or unusual input (escaped surrogates, invalid UTF-8,
// numbers that do not fit, repeated keys), and types with their own
// unmarshalers. The caller then decodes with encoding/json, which decides.
// The rule that keeps this safe: when fastDecode returns true, the value is
// what encoding/json would have produced (FuzzFastDecode checks it).

type planKind uint8

const (
	pkUnsupported planKind = iota // give up when a value of this type is present
	pkBool
	pkString
	pkInt
	pkUint
	pkFloat
	pkAny // empty interface: maps, slices, float64, string, bool, nil
	pkPtr
	pkSlice
	pkBytes
	pkMap
	pkStruct
	pkTime
)

// decodePlan says how to decode JSON into one Go type.
type decodePlan struct {
	kind   planKind
	typ    reflect.Type
	elem   *decodePlan // pointer, slice and map elements
	fields []fieldPlan // struct fields, in declaration order
	// foldable: every field name is ASCII, so a key that matches none exactly
	// can be matched case-insensitively the way encoding/json does.
	foldable bool
	typeWord unsafe.Pointer // for box
}

type fieldPlan struct {
	name  string
	index int
	plan  *decodePlan
}

// maxFastFields bounds struct plans: repeated keys are detected with a bit
// per field.
const maxFastFields = 64

// maxFastDepth is how deep the fast path nests before leaving the input to
// encoding/json.
const maxFastDepth = 500

// planCache holds one plan per type, built on first use, like encoding/json's
// own field cache: the package's shared state, nothing but derived data.
// Readers load a map that is never written after it is published (copied on
// each addition, which happens once per type): a plain map lookup, where a
// sync.Map cost 6% of decoding an event.
type planCache[P any] struct {
	done atomic.Pointer[map[reflect.Type]*P]
	mu   sync.Mutex
}

// get returns t's plan; build makes it and the plans of the types it holds,
// adding each to building before filling it in, so that recursive types end
// in a cycle of plans instead of endless recursion.
func (c *planCache[P]) get(t reflect.Type, build func(reflect.Type, map[reflect.Type]*P) *P) *P {
	if p, ok := c.lookup(t); ok {
		return p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.lookup(t); ok {
		return p
	}
	building := map[reflect.Type]*P{}
	p := build(t, building)
	next := map[reflect.Type]*P{}
	if old := c.done.Load(); old != nil {
		next = maps.Clone(*old)
	}
	for bt, bp := range building {
		if _, ok := next[bt]; !ok {
			next[bt] = bp
		}
	}
	c.done.Store(&next)
	return p
}

func (c *planCache[P]) lookup(t reflect.Type) (*P, bool) {
	if m := c.done.Load(); m != nil {
		p, ok := (*m)[t]
		return p, ok
	}
	return nil, false
}

// known returns the plan for t if it is built or being built.
func (c *planCache[P]) known(t reflect.Type, building map[reflect.Type]*P) (*P, bool) {
	if p, ok := c.lookup(t); ok {
		return p, true
	}
	p, ok := building[t]
	return p, ok
}

var decodePlans planCache[decodePlan]

var (
	timeType            = reflect.TypeFor[time.Time]()
	numberType          = reflect.TypeFor[json.Number]()
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func planFor(t reflect.Type) *decodePlan { return decodePlans.get(t, buildPlan) }

func buildPlan(t reflect.Type, building map[reflect.Type]*decodePlan) *decodePlan {
	if p, ok := decodePlans.known(t, building); ok {
		return p
	}
	p := &decodePlan{typ: t, typeWord: ifaceTypeWord(t)}
	building[t] = p
	if t == timeType {
		p.kind = pkTime
		return p
	}
	if t == numberType {
		return p // json.Number: encoding/json checks and keeps number syntax
	}
	if t.Kind() != reflect.Pointer && (t.Implements(unmarshalerType) || t.Implements(textUnmarshalerType) ||
		reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType)) {
		return p // pkUnsupported: its own methods decide
	}
	p.kind = basicKind(t.Kind())
	switch t.Kind() {
	case reflect.Interface:
		if t.NumMethod() == 0 {
			p.kind = pkAny
		}
	case reflect.Pointer:
		p.kind, p.elem = pkPtr, buildPlan(t.Elem(), building)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			p.kind = pkBytes
		} else {
			p.kind, p.elem = pkSlice, buildPlan(t.Elem(), building)
		}
	case reflect.Map:
		k := t.Key()
		if k.Kind() == reflect.String && !reflect.PointerTo(k).Implements(textUnmarshalerType) {
			p.kind, p.elem = pkMap, buildPlan(t.Elem(), building)
		}
	case reflect.Struct:
		buildStructPlan(p, t, building)
	}
	return p
}

// basicKind is the plan kind of bools, strings and numbers; pkUnsupported
// for other kinds.
func basicKind(k reflect.Kind) planKind {
	switch k {
	case reflect.Bool:
		return pkBool
	case reflect.String:
		return pkString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return pkInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return pkUint
	case reflect.Float32, reflect.Float64:
		return pkFloat
	}
	return pkUnsupported
}

// buildStructPlan plans the fields encoding/json decodes.
func buildStructPlan(p *decodePlan, t reflect.Type, building map[reflect.Type]*decodePlan) {
	jf, ok := jsonFields(t)
	if !ok || len(jf) > maxFastFields {
		return
	}
	fields := make([]fieldPlan, len(jf))
	foldable := true
	for i, f := range jf {
		for j := range len(f.name) {
			foldable = foldable && f.name[j] < utf8.RuneSelf
		}
		fields[i] = fieldPlan{name: f.name, index: f.index, plan: buildPlan(f.typ, building)}
	}
	p.kind, p.fields, p.foldable = pkStruct, fields, foldable
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	index int
	name  string
	opts  string // the tag's options, after the name
	typ   reflect.Type
}

// jsonFields returns the fields of struct type t that encoding/json uses,
// with their names, or false when the fast paths leave t to encoding/json:
// embedded fields, ",string" and clashing names.
func jsonFields(t reflect.Type) ([]jsonField, bool) {
	var fields []jsonField
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil, false
		}
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := cutComma(tag)
		if hasOption(opts, "string") {
			return nil, false
		}
		if !isValidTag(name) {
			name = f.Name
		}
		if names[name] {
			return nil, false
		}
		names[name] = true
		fields = append(fields, jsonField{index: i, name: name, opts: opts, typ: f.Type})
	}
	return fields, true
}

func cutComma(s string) (before, after string, found bool) {
	for i := range len(s) {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = cutComma(opts)
		if o == want {
			return true
		}
	}
	return false
}

// isValidTag is encoding/json's rule for a usable name in a tag.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case c < utf8.RuneSelf && isTagPunct(byte(c)):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

func isTagPunct(c byte) bool {
	for i := range len(tagPunct) {
		if tagPunct[i] == c {
			return true
		}
	}
	return false
}

const tagPunct = "!#$%&()*+-./:;<=>?@[]^_{|}~ "

// fastDecode decodes b into v, which must be settable and hold its type's
// zero value. It reports false, with v partly written, when encoding/json
// must decide.
func fastDecode(b []byte, v reflect.Value) bool {
	p := planFor(v.Type())
	d := fastDecoder{b: b}
	d.space()
	if !d.value(p, v) {
		return false
	}
	d.space()
	return d.i == len(d.b)
}

type fastDecoder struct {
	b     []byte
	i     int
	depth int
	buf   []byte // unescaped strings
	// shared lets long strings without escapes point into b instead of
	// being copied: for a caller that never modifies b again (see
	// DecodeTyped).
	shared bool
}

func (d *fastDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastDecoder) literal(lit string) bool {
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return false
	}
	d.i += len(lit)
	return true
}

// value decodes the value at d.i into v, which holds its zero value.
func (d *fastDecoder) value(p *decodePlan, v reflect.Value) bool {
	if d.i >= len(d.b) {
		return false
	}
	c := d.b[d.i]
	if c == 'n' {
		if !d.literal("null") {
			return false
		}
		// null leaves other kinds as they are (zero); for these it is nil.
		switch p.kind {
		case pkUnsupported:
			return false
		case pkPtr, pkSlice, pkBytes, pkMap, pkAny:
			v.SetZero()
		}
		return true
	}
	switch p.kind {
	case pkString:
		if c != '"' {
			return false
		}
		s, ok := d.string()
		if ok {
			v.SetString(s)
		}
		return ok
	case pkBool:
		switch {
		case c == 't' && d.literal("true"):
			v.SetBool(true)
			return true
		case c == 'f' && d.literal("false"):
			return true
		}
		return false
	case pkInt:
		n, ok := d.integer()
		if !ok || v.OverflowInt(n) {
			return false
		}
		v.SetInt(n)
		return true
	case pkUint:
		lit, integral, ok := d.number()
		if !ok || !integral {
			return false
		}
		n, ok := parseUint(lit)
		if !ok || v.OverflowUint(n) {
			return false
		}
		v.SetUint(n)
		return true
	case pkFloat:
		lit, _, ok := d.number()
		if !ok {
			return false
		}
		f, err := strconv.ParseFloat(string(lit), v.Type().Bits())
		if err != nil || v.OverflowFloat(f) {
			return false
		}
		v.SetFloat(f)
		return true
	case pkAny:
		x, ok := d.anyValue()
		if ok && x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return ok
	case pkPtr:
		if v.IsNil() {
			v.Set(reflect.New(p.typ.Elem()))
		}
		return d.value(p.elem, v.Elem())
	case pkSlice:
		return d.slice(p, v)
	case pkBytes:
		return d.bytes(v)
	case pkMap:
		if d.b[d.i] == '{' && v.IsNil() {
			v.Set(reflect.MakeMap(p.typ)) // {} is an empty map, not nil
		}
		return d.object(func(key []byte) bool {
			k := reflect.ValueOf(string(key))
			elem := reflect.New(p.elem.typ).Elem()
			if !d.value(p.elem, elem) {
				return false
			}
			if k.Type() != p.typ.Key() {
				k = k.Convert(p.typ.Key())
			}
			v.SetMapIndex(k, elem)
			return true
		})
	case pkStruct:
		return d.structValue(p, v)
	case pkTime:
		start := d.i
		if !d.skip() {
			return false
		}
		return v.Addr().Interface().(*time.Time).UnmarshalJSON(d.b[start:d.i]) == nil
	}
	return false
}

func (d *fastDecoder) nest() bool {
	d.depth++
	return d.depth <= maxFastDepth
}

func (d *fastDecoder) slice(p *decodePlan, v reflect.Value) bool {
	ok := d.array(func(n int) bool {
		if n == v.Cap() {
			v.Grow(max(4, n))
		}
		v.SetLen(n + 1)
		return d.value(p.elem, v.Index(n))
	})
	if ok && v.IsNil() {
		v.Set(reflect.MakeSlice(p.typ, 0, 0)) // [] is an empty slice, not nil
	}
	return ok
}

// array calls elem for each element of the array at d.i, with d.i at the
// element, and reports whether all went well.
func (d *fastDecoder) array(elem func(i int) bool) bool {
	if empty, ok := d.open('[', ']'); empty || !ok {
		return ok
	}
	for i := 0; ; i++ {
		if !elem(i) {
			return false
		}
		if closed, ok := d.next(']'); closed || !ok {
			return ok
		}
	}
}

// open steps into the array or object at d.i, which must start with
// opener, and reports whether it ends at once (closer).
func (d *fastDecoder) open(opener, closer byte) (empty, ok bool) {
	if d.b[d.i] != opener || !d.nest() {
		return false, false
	}
	d.i++
	d.space()
	if d.i < len(d.b) && d.b[d.i] == closer {
		d.i++
		d.depth--
		return true, true
	}
	return false, true
}

// next steps over the space and the ',' or closer after a member and
// reports which it was.
func (d *fastDecoder) next(closer byte) (closed, ok bool) {
	d.space()
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		d.space()
		return false, true
	case closer:
		d.i++
		d.depth--
		return true, true
	}
	return false, false
}

func (d *fastDecoder) bytes(v reflect.Value) bool {
	if d.b[d.i] != '"' {
		return false // encoding/json also takes arrays of numbers: leave it those
	}
	s, ok := d.stringBytes()
	if !ok {
		return false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, s)
	if err != nil {
		return false
	}
	v.SetBytes(out[:n])
	return true
}

// object calls member for each member of the object at d.i with d.i at its
// value; key is valid until the next string is decoded.
func (d *fastDecoder) object(member func(key []byte) bool) bool {
	if empty, ok := d.open('{', '}'); empty || !ok {
		return ok
	}
	for {
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return false
		}
		key, ok := d.stringBytes()
		if !ok {
			return false
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return false
		}
		d.i++
		d.space()
		if !member(key) {
			return false
		}
		if closed, ok := d.next('}'); closed || !ok {
			return ok
		}
	}
}

func (d *fastDecoder) structValue(p *decodePlan, v reflect.Value) bool {
	var seen uint64
	return d.object(func(key []byte) bool {
		switch f := p.field(key); {
		case f == -2:
			return false // only encoding/json can match this key
		case f == -1:
			return d.skip()
		case seen&(1<<f) != 0:
			return false // a repeated key: encoding/json merges, leave it that
		default:
			seen |= 1 << f
			fp := &p.fields[f]
			return d.value(fp.plan, v.Field(fp.index))
		}
	})
}

// field returns the index in p.fields of the field named key, matched as
// encoding/json does (exactly, else the first case-insensitive match), -1
// for none, -2 when only encoding/json can tell (non-ASCII folding).
func (p *decodePlan) field(key []byte) int {
	for i := range p.fields {
		if p.fields[i].name == string(key) {
			return i
		}
	}
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return -2
		}
	}
	if !p.foldable {
		return -2
	}
	for i := range p.fields {
		if asciiEqualFold(p.fields[i].name, key) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(s string, b []byte) bool {
	if len(s) != len(b) {
		return false
	}
	for i := range len(s) {
		x, y := s[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// string decodes the JSON string at d.i.
func (d *fastDecoder) string() (string, bool) {
	start := d.i + 1
	b, ok := d.stringBytes()
	// A string kept alive keeps the whole of d.b alive, so only one that is
	// at least a quarter of it is shared: what it holds on to is at most
	// four times its own size.
	if d.shared && ok && len(b) > 0 && 4*len(b) >= len(d.b) && &b[0] == &d.b[start] {
		return unsafe.String(&b[0], len(b)), true // no escapes: b is d.b's
	}
	return string(b), ok
}

// stringBytes decodes the JSON string at d.i; the result is valid until the
// next call. It gives up on invalid UTF-8 and lone surrogates, which
// encoding/json replaces.
func (d *fastDecoder) stringBytes() ([]byte, bool) {
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.b); j++ {
		if j = stringRun(d.b, j); j == len(d.b) {
			break
		}
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			s := d.b[start:j]
			return s, ascii || utf8.Valid(s)
		case c == '\\':
			return d.unescape(start, j)
		case c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// stringRun returns the index of the first byte of b at or after i that
// ends a run of string contents the decoder copies as it is: a quote, a
// backslash, a control character or a byte from 0x80 up. It is plainRun
// without the HTML characters, which only the encoder escapes, and so two
// tests a word fewer (the same bit tricks; see plainRunWords). Past four
// words the string is a long one (a title, a text), and the rest goes
// sixteen bytes at a time where runBlocks can (amd64): most strings, names
// and ids, end in the first words, and calling runBlocks for them cost
// more than it saved.
func stringRun(b []byte, i int) int {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	for words := 0; i+8 <= len(b); i += 8 {
		if words++; words == 5 && len(b)-i >= 16 {
			if i += runBlocks(&b[i], len(b)-i, false); i+8 > len(b) {
				break
			}
		}
		x := binary.LittleEndian.Uint64(b[i:])
		quote := x ^ '"'*ones
		backslash := x ^ '\\'*ones
		m := x | (x-0x20*ones)&^x | (quote-ones)&^quote | (backslash-ones)&^backslash
		if m &= tops; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && b[i] >= 0x20 && b[i] < utf8.RuneSelf && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}

// unescape finishes a string that has escapes, from its first backslash at j.
func (d *fastDecoder) unescape(start, j int) ([]byte, bool) {
	out := append(d.buf[:0], d.b[start:j]...)
	for j < len(d.b) {
		c := d.b[j]
		switch {
		case c == '"':
			d.i = j + 1
			d.buf = out
			return out, utf8.Valid(out)
		case c < 0x20:
			return nil, false
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(d.b) {
			return nil, false
		}
		switch e := d.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(d.b, j+2)
			if !ok {
				return nil, false
			}
			j += 4
			if utf16.IsSurrogate(r) {
				// Only a well-formed pair; encoding/json replaces the rest.
				if j+3 >= len(d.b) || d.b[j+2] != '\\' || d.b[j+3] != 'u' {
					return nil, false
				}
				r2, ok := hex4(d.b, j+4)
				if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
					return nil, false
				}
				j += 6
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false
		}
		j += 2
	}
	return nil, false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number returns the JSON number at d.i, checked against the grammar, and
// whether it has neither fraction nor exponent.
func (d *fastDecoder) number() (lit []byte, integral, ok bool) {
	start, j := d.i, d.i
	if j < len(d.b) && d.b[j] == '-' {
		j++
	}
	switch {
	case j < len(d.b) && d.b[j] == '0':
		j++
	case j < len(d.b) && '1' <= d.b[j] && d.b[j] <= '9':
		j = digits(d.b, j)
	default:
		return nil, false, false
	}
	integral = true
	if j < len(d.b) && d.b[j] == '.' {
		integral = false
		k := digits(d.b, j+1)
		if k == j+1 {
			return nil, false, false
		}
		j = k
	}
	if j < len(d.b) && (d.b[j] == 'e' || d.b[j] == 'E') {
		integral = false
		j++
		if j < len(d.b) && (d.b[j] == '+' || d.b[j] == '-') {
			j++
		}
		k := digits(d.b, j)
		if k == j {
			return nil, false, false
		}
		j = k
	}
	d.i = j
	return d.b[start:j], integral, true
}

func digits(b []byte, j int) int {
	for j < len(b) && '0' <= b[j] && b[j] <= '9' {
		j++
	}
	return j
}

// integer reads an integral JSON number as an int64; up to 18 digits
// without strconv.
func (d *fastDecoder) integer() (int64, bool) {
	lit, integral, ok := d.number()
	if !ok || !integral {
		return 0, false
	}
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	u, ok := parseUint(lit)
	switch {
	case !ok:
		return 0, false
	case neg && u <= 1<<63:
		return -int64(u), true // 1<<63 wraps to the smallest int64, as it should
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	}
	return 0, false
}

// parseUint is strconv.ParseUint(string(b), 10, 64) for plain digits, the
// only form the decoder passes it: ParseUint's general cases (bases,
// underscores, its error values) made the envelope's seq 2% of the NATS
// end-to-end CPU.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		d := uint64(c - '0') // bytes below '0' wrap around to more than 9
		if d > 9 || n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// anyValue decodes the value at d.i as encoding/json does into an any.
func (d *fastDecoder) anyValue() (any, bool) {
	if d.i >= len(d.b) {
		return nil, false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.string()
	case c == '{':
		m := map[string]any{}
		ok := d.object(func(key []byte) bool {
			k := string(key)
			x, ok := d.anyValue()
			m[k] = x
			return ok
		})
		return m, ok
	case c == '[':
		arr := []any{}
		ok := d.array(func(int) bool {
			x, ok := d.anyValue()
			arr = append(arr, x)
			return ok
		})
		return arr, ok
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	lit, _, ok := d.number()
	if !ok {
		return nil, false
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	return f, err == nil
}

// skip steps over the value at d.i, checking it as strictly as decoding it
// would: encoding/json refuses a whole input for one bad member.
func (d *fastDecoder) skip() bool {
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, ok := d.stringBytes()
		return ok
	case c == '{':
		return d.object(func([]byte) bool { return d.skip() })
	case c == '[':
		return d.array(func(int) bool { return d.skip() })
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	}
	_, _, ok := d.number()
	return ok
}
