// Package pack puts several messages into one broker message, for brokers
// whose cost is per message (RabbitMQ, MongoDB): each message's length as
// an unsigned varint followed by the message, back to back. The adapters
// mark a pack out of band (an AMQP content type, a document field).
package pack

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Limit bounds a pack. A message longer than that is sent alone, as a
// plain message.
const Limit = 256 << 10

// Send splits msgs into runs whose packed form fits Limit and calls send
// for each: with a pack (buf holds it) when the run has two or more
// messages, with the message itself otherwise, so that a lone event, which
// is every event at low rates, waits for nothing. buf is reused from run to
// run and returned, for the next call.
func Send(buf []byte, msgs [][]byte, send func(body []byte, packed bool) error) ([]byte, error) {
	for len(msgs) > 0 {
		n, size := 0, 0
		for n < len(msgs) {
			s := binary.MaxVarintLen64 + len(msgs[n])
			if n > 0 && size+s > Limit {
				break
			}
			n, size = n+1, size+s
		}
		if n == 1 {
			if err := send(msgs[0], false); err != nil {
				return buf, err
			}
			msgs = msgs[1:]
			continue
		}
		buf = buf[:0]
		for _, m := range msgs[:n] {
			buf = binary.AppendUvarint(buf, uint64(len(m)))
			buf = append(buf, m...)
		}
		if err := send(buf, true); err != nil {
			return buf, err
		}
		msgs = msgs[n:]
	}
	return buf, nil
}

// ErrMalformed is wrapped by Unpack's errors.
var ErrMalformed = errors.New("malformed pack")

// Unpack calls each for every message in body, in order, and fails on a
// malformed body (after the messages before the fault). The slices passed
// to each share body's memory; their capacity ends with them.
func Unpack(body []byte, each func(msg []byte)) error {
	for i := 0; len(body) > 0; i++ {
		n, k := binary.Uvarint(body)
		if k <= 0 || n > uint64(len(body)-k) {
			return fmt.Errorf("pack: the length of message %d runs past the end: %w", i, ErrMalformed)
		}
		each(body[k : k+int(n) : k+int(n)])
		body = body[k+int(n):]
	}
	return nil
}
