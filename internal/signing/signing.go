// Package signing signs eventsync messages with HMAC-SHA256 and checks
// them: the sync messages of a Sync with Options.Secret, and the registry's.
package signing

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
)

// The signature covers the unsigned message and the time it was signed at,
// in Unix milliseconds, so that a receiver can refuse a message replayed
// long after it was sent. A JSON message stays a JSON object, so that
// feathers-sync peers can still read it (they ignore the unknown members):
// the signature and the time become its first members,
//
//	{"sig":"<64 hex digits>","ts":<ms>, ...the rest of the unsigned message...}
//
// Other formats carry the time (8 bytes, big-endian) and the 32-byte MAC as
// a trailer.

var (
	sigPrefix = []byte(`{"sig":"`)
	tsMember  = []byte(`","ts":`)
)

const sigLen = sha256.Size

// MaxBytes bounds what signing adds to a message.
const MaxBytes = 8 + 2*sigLen + 7 + 20 + 1

func mac(secret []byte, ts int64, msg []byte) []byte {
	h := hmac.New(sha256.New, secret)
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(ts))
	h.Write(t[:])
	h.Write(msg)
	return h.Sum(nil)
}

// Sign returns msg signed with secret at time ts (Unix milliseconds);
// jsonObject says msg is a JSON object.
func Sign(secret, msg []byte, ts int64, jsonObject bool) []byte {
	sum := mac(secret, ts, msg)
	if !jsonObject || len(msg) < 2 || msg[0] != '{' {
		msg = binary.BigEndian.AppendUint64(msg, uint64(ts))
		return append(msg, sum...)
	}
	out := make([]byte, 0, len(msg)+MaxBytes)
	out = append(out, sigPrefix...)
	out = hex.AppendEncode(out, sum)
	out = append(out, tsMember...)
	out = strconv.AppendInt(out, ts, 10)
	if !bytes.Equal(msg, []byte("{}")) {
		out = append(out, ',')
	}
	return append(out, msg[1:]...)
}

// Verify returns the unsigned message and the time it was signed at if msg
// carries a valid signature.
func Verify(secret, msg []byte, jsonObject bool) (body []byte, ts int64, ok bool) {
	if !jsonObject {
		if len(msg) < 8+sigLen {
			return nil, 0, false
		}
		n := len(msg) - 8 - sigLen
		body, ts = msg[:n], int64(binary.BigEndian.Uint64(msg[n:]))
		return body, ts, hmac.Equal(msg[n+8:], mac(secret, ts, body))
	}
	head := len(sigPrefix) + 2*sigLen // up to the closing quote of the signature
	if len(msg) < head+len(tsMember)+2 || !bytes.HasPrefix(msg, sigPrefix) || !bytes.HasPrefix(msg[head:], tsMember) {
		return nil, 0, false
	}
	sum := make([]byte, sigLen)
	if _, err := hex.Decode(sum, msg[len(sigPrefix):head]); err != nil {
		return nil, 0, false
	}
	rest := msg[head+len(tsMember):]
	end := 0
	for end < len(rest) && end < 19 && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	ts, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil || end == len(rest) {
		return nil, 0, false
	}
	rest = rest[end:]
	if rest[0] == ',' {
		rest = rest[1:]
	}
	body = append([]byte{'{'}, rest...)
	return body, ts, hmac.Equal(sum, mac(secret, ts, body))
}
