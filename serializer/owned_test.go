package serializer

import (
	"bytes"
	"testing"
)

// TestEncodedMessagesDoNotShareRoom: messages carved from one chunk have
// no spare capacity, so appending to one never writes into the next.
func TestEncodedMessagesDoNotShareRoom(t *testing.T) {
	m := &Message{Event: "created", Path: "todos", Data: map[string]any{"n": 1}}
	first, err := JSON.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	second, err := JSON.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if cap(first) != len(first) {
		t.Fatalf("cap %d, len %d", cap(first), len(first))
	}
	want := bytes.Clone(second)
	_ = append(first, "garbage"...)
	if !bytes.Equal(second, want) {
		t.Fatalf("appending to one message changed another: %q", second)
	}
	big := bytes.Repeat([]byte("x"), chunkSize)
	if got := ownedCopy(big); !bytes.Equal(got, big) {
		t.Fatal("a message larger than a chunk is copied whole")
	}
}
