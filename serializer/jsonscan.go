package serializer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"sync/atomic"
	"unicode/utf8"
)

// A small JSON scanner for the envelope: one pass finds the top-level members
// and hands each value to its reader (DecodeTyped decodes "data" where it
// lies, Decode leaves it as a byte span). encoding/json alone would scan
// every message three times (validate, decode, skip into RawMessage).

var errJSONSyntax = errors.New("invalid JSON")

const maxJSONDepth = 1000

// eachMember calls fn for each member of the JSON object in b, with the key
// (quotes removed, escapes left as they are) and the value's raw bytes.
func eachMember(b []byte, fn func(key, val []byte) error) error {
	return eachMemberAt(b, func(key []byte, start int) (int, error) {
		end, err := skipValue(b, start, 0)
		if err != nil {
			return 0, err
		}
		return end, fn(key, b[start:end])
	})
}

// eachMemberAt is eachMember for a caller that reads each value itself:
// value gets the offset where it starts and returns the one just past it.
func eachMemberAt(b []byte, value func(key []byte, start int) (end int, err error)) error {
	end, err := eachMemberFrom(b, skipSpace(b, 0), value)
	if err != nil {
		return err
	}
	return trailing(b, end)
}

// eachMemberFrom is eachMemberAt for an object that starts at b[i] and may
// be followed by more: it returns the offset just past the object.
func eachMemberFrom(b []byte, i int, value func(key []byte, start int) (end int, err error)) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, fmt.Errorf("%w: not an object", errJSONSyntax)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, fmt.Errorf("%w: object key expected at offset %d", errJSONSyntax, i)
		}
		kend, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : kend-1]
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, fmt.Errorf("%w: ':' expected at offset %d", errJSONSyntax, i)
		}
		vend, err := value(key, skipSpace(b, i+1))
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return 0, fmt.Errorf("%w: unexpected end", errJSONSyntax)
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, fmt.Errorf("%w: ',' or '}' expected at offset %d", errJSONSyntax, i)
		}
	}
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return fmt.Errorf("%w: data after the object", errJSONSyntax)
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the offset just past the value starting at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, fmt.Errorf("%w: value expected", errJSONSyntax)
	}
	if depth > maxJSONDepth {
		return 0, fmt.Errorf("%w: nested deeper than %d", errJSONSyntax, maxJSONDepth)
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, nil
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, fmt.Errorf("%w: object key expected at offset %d", errJSONSyntax, i)
				}
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = skipSpace(b, end)
				if i >= len(b) || b[i] != ':' {
					return 0, fmt.Errorf("%w: ':' expected at offset %d", errJSONSyntax, i)
				}
				i = skipSpace(b, i+1)
			}
			end, err := skipValue(b, i, depth+1)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return 0, fmt.Errorf("%w: unexpected end", errJSONSyntax)
			}
			if b[i] == closer {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, fmt.Errorf("%w: ',' expected at offset %d", errJSONSyntax, i)
			}
			i = skipSpace(b, i+1)
		}
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		j := i + 1
		for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || b[j] == '+' || b[j] == '-') {
			j++
		}
		return j, nil
	}
	return 0, fmt.Errorf("%w: unexpected %q at offset %d", errJSONSyntax, b[i], i)
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, fmt.Errorf("%w: bad literal at offset %d", errJSONSyntax, i)
	}
	return i + len(lit), nil
}

// skipString returns the offset just past the string starting at b[i] == '"'.
// A plain ASCII string (keys, names, most values) ends where stringRun
// stops; other strings are crossed from quote to quote with bytes.IndexByte,
// which is faster over long runs of non-ASCII text; they go on from where
// stringRun stopped, since what it crossed holds no quote or backslash.
// Control characters are left to the decoders of the values that are used.
func skipString(b []byte, i int) (int, error) {
	j := stringRun(b, i+1)
	if j < len(b) && b[j] == '"' {
		return j + 1, nil
	}
	for j < len(b) {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			break
		}
		if esc := bytes.IndexByte(b[j:j+q], '\\'); esc >= 0 {
			j += esc + 2 // step over the escaped character, which may be a quote
			continue
		}
		return j + q + 1, nil
	}
	return 0, fmt.Errorf("%w: unterminated string", errJSONSyntax)
}

// jsonString decodes a raw JSON string value; escapes take the slow path.
func jsonString(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' {
		if string(raw) == "null" {
			return "", nil
		}
		return "", fmt.Errorf("%w: string expected", errJSONSyntax)
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			err := json.Unmarshal(raw, &s)
			return s, err
		}
	}
	if !utf8.Valid(inner) {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	return string(inner), nil
}

// jsonName is jsonString for the envelope's names (event, path, origin,
// method, type), which come from a small set: they are interned, so that
// receiving a message does not allocate them again.
func jsonName(raw []byte) (string, error) {
	if len(raw) < 2 || len(raw) > maxInterned+2 || raw[0] != '"' {
		return jsonString(raw)
	}
	inner := raw[1 : len(raw)-1]
	h := maphash.Bytes(internSeed, inner)
	bucket := &interned[h%uint64(len(interned))]
	for i := range bucket {
		if p := bucket[i].Load(); p == nil {
			break // filled in order: nothing further along
		} else if *p == string(inner) {
			return *p, nil
		}
	}
	s, err := jsonString(raw)
	if err == nil && s == string(inner) { // no escapes: the bytes are the string
		for i := range bucket {
			if bucket[i].CompareAndSwap(nil, &s) {
				return s, nil
			}
		}
		bucket[(h>>32)%uint64(len(bucket))].Store(&s) // full: replace one
	}
	return s, err
}

const maxInterned = 64

// interned is a cache shared by every Sync in the process; it only ever
// holds strings seen on the wire. Names that hash to the same bucket share
// it: with one slot each, two of a message's names that collided evicted
// each other on every message, and both were decoded and allocated again.
// With random seeds and replica IDs that is chance: about one process in
// fifty for the five names of a service event (3 of some 40 benchmark runs).
var (
	interned   [128][4]atomic.Pointer[string]
	internSeed = maphash.MakeSeed()
)
