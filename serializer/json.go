package serializer

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// JSON is the default serializer: the feathers-sync wire format, one JSON
// object per message. JSON has no NaN or infinities (encoding such data fails
// the publish, not the call), carries []byte as base64 strings, and numbers
// beyond 2^53 lose precision in Node peers.
var JSON Serializer = jsonSerializer{}

type jsonSerializer struct{}

func (jsonSerializer) Name() string { return "json" }

func (jsonSerializer) Encode(m *Message) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("serializer: json encode %s %s: %w", m.Path, m.Event, err)
	}
	return b, nil
}

// jsonEnvelope reads what feathers-sync and eventsync send; unknown fields
// (feathers-sync 3.x sends the whole hook context) are skipped.
type jsonEnvelope struct {
	Event   string          `json:"event"`
	Path    string          `json:"path"`
	Origin  string          `json:"origin"`
	Data    json.RawMessage `json:"data"`
	Context *jsonContext    `json:"context"`
}

type jsonContext struct {
	Method string         `json:"method"`
	Path   string         `json:"path"`
	Type   string         `json:"type"`
	ID     any            `json:"id"`
	Event  string         `json:"event"`
	Params map[string]any `json:"params"`
}

func (jsonSerializer) Decode(b []byte, e *Envelope) error {
	var w jsonEnvelope
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("serializer: json decode: %w", err)
	}
	*e = Envelope{Event: w.Event, Path: w.Path, Origin: w.Origin}
	if len(w.Data) > 0 && !bytes.Equal(w.Data, jsonNull) {
		e.Data = w.Data
	}
	if c := w.Context; c != nil {
		e.Context = &Context{Method: c.Method, Path: c.Path, Type: c.Type, ID: c.ID, Event: c.Event, Params: c.Params}
	}
	return checkEnvelope("json", e)
}

var jsonNull = []byte("null")

func (jsonSerializer) DecodeData(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("serializer: json decode data: %w", err)
	}
	return nil
}
