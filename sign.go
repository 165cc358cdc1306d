package eventsync

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Messages are signed with HMAC-SHA256 when Options.Secret is set. A JSON
// message stays a JSON object, so that feathers-sync peers can still read it
// (they ignore the unknown member): the signature becomes its first member,
//
//	{"sig":"<64 hex digits>", ...the rest of the unsigned message...}
//
// and covers the unsigned message. Other formats carry the 32-byte MAC as a
// trailer. A receiver with a Secret drops and counts (Stats.Forged) every
// message without a valid signature.

var sigPrefix = []byte(`{"sig":"`)

const sigLen = sha256.Size

func mac(secret, msg []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(msg)
	return h.Sum(nil)
}

// sign returns msg signed with secret; jsonObject says msg is a JSON object.
func sign(secret, msg []byte, jsonObject bool) []byte {
	sum := mac(secret, msg)
	if !jsonObject || len(msg) < 2 || msg[0] != '{' {
		return append(msg, sum...)
	}
	out := make([]byte, 0, len(msg)+len(sigPrefix)+2*sigLen+2)
	out = append(out, sigPrefix...)
	out = hex.AppendEncode(out, sum)
	out = append(out, '"')
	if !bytes.Equal(msg, []byte("{}")) {
		out = append(out, ',')
	}
	return append(out, msg[1:]...)
}

// verify returns the unsigned message if msg carries a valid signature.
func verify(secret, msg []byte, jsonObject bool) ([]byte, bool) {
	if !jsonObject {
		if len(msg) < sigLen {
			return nil, false
		}
		body, sum := msg[:len(msg)-sigLen], msg[len(msg)-sigLen:]
		return body, hmac.Equal(sum, mac(secret, body))
	}
	head := len(sigPrefix) + 2*sigLen + 1 // up to and including the closing quote
	if len(msg) < head+1 || !bytes.HasPrefix(msg, sigPrefix) || msg[head-1] != '"' {
		return nil, false
	}
	sum := make([]byte, sigLen)
	if _, err := hex.Decode(sum, msg[len(sigPrefix):head-1]); err != nil {
		return nil, false
	}
	rest := msg[head:]
	if len(rest) > 0 && rest[0] == ',' {
		rest = rest[1:]
	}
	body := append([]byte{'{'}, rest...)
	return body, hmac.Equal(sum, mac(secret, body))
}
