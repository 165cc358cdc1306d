// Package callargs converts what a transport's client sent into the
// arguments of a service method: ids from a URL or from JSON, data from
// JSON, with Feathers' errors (BadRequest) for what does not fit.
package callargs

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/eventsync/eventsync"
)

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// ParseID converts an id given as text (a URL's) to t: ints, uints, floats,
// strings, pointers to those (an optional id), types with UnmarshalText;
// anything else is a BadRequest.
func ParseID(s string, t reflect.Type) (any, error) {
	bad := func() error {
		return eventsync.BadRequest(fmt.Sprintf("id %q is not a valid %v", s, t), map[string]string{"id": s})
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		p := reflect.New(t)
		if err := p.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return nil, bad()
		}
		return p.Elem().Interface(), nil
	}
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.Pointer:
		elem, err := ParseID(s, t.Elem())
		if err != nil {
			return nil, err
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(reflect.ValueOf(elem))
		return p.Interface(), nil
	case reflect.String:
		v.SetString(s)
	case reflect.Interface:
		return s, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return nil, bad()
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil {
			return nil, bad()
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, t.Bits())
		if err != nil {
			return nil, bad()
		}
		v.SetFloat(f)
	default:
		return nil, bad()
	}
	return v.Interface(), nil
}

// IDFromJSON converts an id sent as JSON to t. A JSON string converts as
// ParseID does, so that "7" reaches an int id (Feathers clients often send
// ids as strings). A missing or null id is a BadRequest unless t can hold
// none (a pointer or an interface: the multi methods).
func IDFromJSON(raw json.RawMessage, t reflect.Type) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
			return reflect.Zero(t).Interface(), nil
		}
		return nil, eventsync.BadRequest("an id is required")
	}
	if raw[0] == '"' && t.Kind() != reflect.String {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, eventsync.BadRequest("malformed id: " + err.Error())
		}
		return ParseID(s, t)
	}
	v, err := DecodeJSON(raw, t)
	if err != nil {
		return nil, eventsync.BadRequest(fmt.Sprintf("id %s is not a valid %v", raw, t), map[string]string{"id": string(raw)})
	}
	return v, nil
}

// DecodeJSON decodes raw into a new value of t.
func DecodeJSON(raw []byte, t reflect.Type) (any, error) {
	p := reflect.New(t)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return nil, eventsync.BadRequest("malformed JSON or wrong types: " + err.Error())
	}
	return p.Elem().Interface(), nil
}
