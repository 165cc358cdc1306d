package socketio

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Engine.IO v4 packet types, the first byte of every packet.
const (
	engineOpen    = '0'
	engineClose   = '1'
	enginePing    = '2'
	enginePong    = '3'
	engineMessage = '4'
	engineUpgrade = '5'
	engineNoop    = '6'
)

// Socket.IO v4 packet types, the first byte of an Engine.IO message.
const (
	packetConnect      = '0'
	packetDisconnect   = '1'
	packetEvent        = '2'
	packetAck          = '3'
	packetConnectError = '4'
	packetBinaryEvent  = '5'
	packetBinaryAck    = '6'
)

// recordSeparator joins packets in a long-polling body.
const recordSeparator = '\x1e'

// packet is a Socket.IO packet: <type>[<attachments>-][<namespace>,][<ack id>][<JSON>].
type packet struct {
	kind        byte
	attachments int
	namespace   string
	ackID       int64 // -1: none
	data        json.RawMessage
}

var errMalformed = errors.New("malformed Socket.IO packet")

// parsePacket parses a Socket.IO packet (an Engine.IO message's payload).
func parsePacket(s string) (packet, error) {
	p := packet{namespace: "/", ackID: -1}
	if s == "" || s[0] < packetConnect || s[0] > packetBinaryAck {
		return p, errMalformed
	}
	p.kind, s = s[0], s[1:]
	if p.kind == packetBinaryEvent || p.kind == packetBinaryAck {
		n, rest, ok := strings.Cut(s, "-")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 0 {
			return p, errMalformed
		}
		p.attachments, s = count, rest
	}
	if strings.HasPrefix(s, "/") {
		nsp, rest, ok := strings.Cut(s, ",")
		if !ok { // "40/admin" with no payload
			nsp, rest = s, ""
		}
		p.namespace, s = nsp, rest
	}
	digits := 0
	for digits < len(s) && digits < 16 && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	if digits > 0 {
		id, err := strconv.ParseInt(s[:digits], 10, 64)
		if err != nil {
			return p, errMalformed
		}
		p.ackID, s = id, s[digits:]
	}
	if s != "" {
		if !json.Valid([]byte(s)) {
			return p, errMalformed
		}
		p.data = json.RawMessage(s)
	}
	return p, nil
}

// appendAck appends the Engine.IO message of an acknowledgement: 43<id>[...].
func appendAck(b []byte, id int64, args json.RawMessage) []byte {
	b = append(b, engineMessage, packetAck)
	b = strconv.AppendInt(b, id, 10)
	return append(b, args...)
}
