package redissync

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The few lines of RESP2 the adapter's own connections speak (see
// subscription.go and publisher.go for why they are its own).

// dialRedis connects with the client's dialer (so TLS and timeouts are the
// client's) and sets a deadline for the handshake: the client's dial timeout,
// at least 5 s, or ctx's deadline if sooner.
func dialRedis(ctx context.Context, opt *redis.Options) (net.Conn, time.Time, error) {
	nc, err := opt.Dialer(ctx, opt.Network, opt.Addr)
	if err != nil {
		return nil, time.Time{}, err
	}
	deadline := time.Now().Add(max(opt.DialTimeout, 5*time.Second))
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = nc.SetDeadline(deadline)
	return nc, deadline, nil
}

// handshake authenticates and names a new connection as go-redis would, then
// sends last (if any), whose reply it leaves to the caller. The whole goes
// out in one write.
func handshake(ctx context.Context, opt *redis.Options, nc net.Conn, r *bufio.Reader, last ...string) error {
	user, pass, err := credentials(ctx, opt)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	var cmds [][]string
	switch {
	case pass != "" && user != "":
		cmds = append(cmds, []string{"AUTH", user, pass})
	case pass != "":
		cmds = append(cmds, []string{"AUTH", pass})
	}
	if opt.ClientName != "" {
		cmds = append(cmds, []string{"CLIENT", "SETNAME", opt.ClientName})
	}
	var buf []byte
	for _, c := range cmds {
		buf = appendCommand(buf, c...)
	}
	if len(last) > 0 {
		buf = appendCommand(buf, last...)
	}
	if _, err := nc.Write(buf); err != nil {
		return err
	}
	for _, c := range cmds {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if len(line) == 0 || line[0] != '+' { // the error, never the command: it may hold the password
			return fmt.Errorf("%s: %s", c[0], line)
		}
	}
	return nil
}

// credentials resolves the password as go-redis does for a new connection.
func credentials(ctx context.Context, opt *redis.Options) (user, pass string, err error) {
	switch {
	case opt.CredentialsProviderContext != nil:
		return opt.CredentialsProviderContext(ctx)
	case opt.CredentialsProvider != nil:
		user, pass = opt.CredentialsProvider()
		return user, pass, nil
	}
	return opt.Username, opt.Password, nil
}

// readLine returns a line without its CRLF; it is valid until the next read.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("malformed line %q", line)
	}
	return line[:len(line)-2], nil
}

// errOversized says that readBulk skipped a bulk string it was to keep
// because it is longer than the limit: nothing was allocated for it.
var errOversized = errors.New("bulk string over the size limit skipped")

// errDropped says that readBulk's drop func refused a bulk string it was to
// keep: it was read, not copied.
var errDropped = errors.New("bulk string dropped")

// readBulk reads a bulk string (or an integer, as in a subscribe
// confirmation). With keep it returns a copy the caller owns (or
// errOversized past limit, or errDropped when drop, given the bytes still
// in the reader's buffer, says so), else the bytes in the reader's buffer
// (valid until its next read) when they fit there, or nil.
func readBulk(r *bufio.Reader, keep bool, limit int, drop func([]byte) bool) ([]byte, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) > 0 && line[0] == ':' {
		return line[1:], nil
	}
	if len(line) == 0 || line[0] != '$' {
		return nil, fmt.Errorf("unexpected element %q", line)
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil || n < -1 || n > maxBulk {
		return nil, fmt.Errorf("bad bulk length %q", line)
	}
	if n == -1 {
		return nil, nil
	}
	var skipped error
	if keep && n > limit {
		keep, skipped = false, errOversized
	}
	var b []byte
	switch {
	case n+2 <= r.Size() && (!keep || drop != nil):
		// Peek the CRLF too: a later Peek could slide the buffer under b.
		if b, err = r.Peek(n + 2); err != nil {
			return nil, err
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return nil, errors.New("bulk string without CRLF")
		}
		_, _ = r.Discard(n + 2) // b stays valid until the next read
		switch {
		case skipped != nil:
			return nil, skipped
		case !keep:
			return b[:n], nil
		case drop(b[:n]):
			return nil, errDropped
		}
		return bytes.Clone(b[:n]), nil
	case keep:
		b = make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
	default:
		if _, err := r.Discard(n); err != nil {
			return nil, err
		}
	}
	cr, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	lf, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if cr != '\r' || lf != '\n' {
		return nil, errors.New("bulk string without CRLF")
	}
	return b, skipped
}

// appendCommand appends a command as a RESP array of bulk strings.
func appendCommand(buf []byte, args ...string) []byte {
	buf = append(buf, '*')
	buf = strconv.AppendInt(buf, int64(len(args)), 10)
	buf = append(buf, "\r\n"...)
	for _, a := range args {
		buf = append(buf, '$')
		buf = strconv.AppendInt(buf, int64(len(a)), 10)
		buf = append(buf, "\r\n"...)
		buf = append(buf, a...)
		buf = append(buf, "\r\n"...)
	}
	return buf
}
