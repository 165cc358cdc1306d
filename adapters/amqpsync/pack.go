package amqpsync

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PackContentType marks an AMQP message that carries several eventsync
// messages (Config.Pack). Its body is each message's length as an unsigned
// varint followed by the message, back to back.
const PackContentType = "application/vnd.eventsync.pack"

// packLimit bounds a pack's body. A message longer than that is sent alone,
// as a plain message.
const packLimit = 256 << 10

// sendPacked splits msgs into runs whose packed form fits packLimit and
// calls send for each: with a pack (buf holds it) when the run has two or
// more messages, with the message itself otherwise. buf is reused from run
// to run and returned, for the next call.
func sendPacked(buf []byte, msgs [][]byte, send func(body []byte, packed bool) error) ([]byte, error) {
	for len(msgs) > 0 {
		n, size := 0, 0
		for n < len(msgs) {
			s := binary.MaxVarintLen64 + len(msgs[n])
			if n > 0 && size+s > packLimit {
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

var errBadPack = errors.New("message length runs past the end")

// unpack calls each for every message in body, in order, and fails on a
// malformed body (after the messages before the fault). The slices passed
// to each share body's memory.
func unpack(body []byte, each func(msg []byte)) error {
	for i := 0; len(body) > 0; i++ {
		n, k := binary.Uvarint(body)
		if k <= 0 || n > uint64(len(body)-k) {
			return fmt.Errorf("amqpsync: pack: message %d: %w", i, errBadPack)
		}
		each(body[k : k+int(n) : k+int(n)])
		body = body[k+int(n):]
	}
	return nil
}
