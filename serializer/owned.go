package serializer

import (
	"bytes"
	"sync"
)

// ownedCopy returns a copy of an encoded message for the caller to keep.
// Small messages are carved out of shared 32 KiB chunks: a run of events
// then costs one allocation per few dozen messages instead of one each, and
// the garbage collector sweeps as many fewer spans (the allocation was 4%
// of the process's CPU in the NATS end-to-end benchmark). A message keeps its
// whole chunk alive; the outbox lets messages go in the order they were
// written, so chunks are freed in order too. The copy's capacity is its
// length, so appending to it reallocates instead of writing into the next
// message.
func ownedCopy(b []byte) []byte {
	if len(b) > chunkSize/8 {
		return bytes.Clone(b)
	}
	chunk.Lock()
	if len(chunk.free) < len(b) {
		chunk.free = make([]byte, chunkSize)
	}
	out := chunk.free[:len(b):len(b)]
	chunk.free = chunk.free[len(b):]
	chunk.Unlock()
	copy(out, b)
	return out
}

const chunkSize = 32 << 10

// chunk is the unused rest of the current chunk. One for the process,
// behind a mutex held for a few instructions: a sync.Pool would give each
// P its own, but it drops items at random under the race detector and at
// every collection, and each drop would start a new chunk kept alive by the
// few messages in it.
var chunk struct {
	sync.Mutex
	free []byte
}
