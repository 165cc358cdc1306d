package channels

import "sync"

// Frames encodes each recent message once for all the connections of a
// transport: a thousand connections cost a thousand encodings of every
// event otherwise. The zero value is not usable: set Encode.
type Frames struct {
	// Encode turns a message into the transport's bytes.
	Encode func(Message) ([]byte, error)

	mu   sync.Mutex
	ring [64]struct {
		id    uint64
		frame []byte
		err   error
	}
}

// Get returns m encoded, from the cache when a connection already asked.
func (f *Frames) Get(m Message) ([]byte, error) {
	slot := &f.ring[m.ID%uint64(len(f.ring))]
	f.mu.Lock()
	defer f.mu.Unlock()
	if slot.id != m.ID {
		slot.id = m.ID
		slot.frame, slot.err = f.Encode(m)
	}
	return slot.frame, slot.err
}
