// Package wire frames MySQL protocol packets. Both ends of the proxy use it:
// protocol (the client-facing side) and backend (the server-facing side), so
// it sits below both and imports neither.
//
// What comes from go-mysql (github.com/go-mysql-org/go-mysql/mysql): command
// bytes, capability and status flags, column types, error codes and their
// SQLSTATEs (mysql.MyError, mysql.NewError), packet header bytes, the
// encoding of length-encoded integers (AppendLengthEncodedInteger), auth
// scrambles (CalcPassword, CalcCachingSha2Password) and the formatting of
// binary-protocol dates and times (FormatBinaryDateTime, FormatBinaryTime).
//
// What stays hand-written here, and why:
//   - Conn, the packet reader and writer: it reuses one buffer for every
//     packet read (a result streams through without an allocation per row),
//     joins and splits 16 MB packets in place, writes commands without
//     copying them, bounds packet size for max_allowed_packet, and hands
//     over what it read ahead for a TLS upgrade. go-mysql's packet.Conn
//     allocates per packet and does none of the rest.
//   - LenEncInt and LenEncString: they decode bytes a client or server sent
//     and must fail cleanly on truncated input; go-mysql's LengthEncodedInt
//     indexes past the end of a short buffer and panics.
//   - OK, EOF, ERR and column definition encoders and decoders: they work on
//     a packet in place, returning values that alias it, for the streaming
//     path; go-mysql's equivalents live inside its client and server
//     connection types, not as functions on a payload.
//   - PassthroughCaps: which capabilities the proxy offers and asks for is
//     the proxy's decision (see caps.go).
package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/memory"
)

// MaxPayloadChunk is the largest payload one physical packet carries; a
// logical packet of this size or more is split and ends with a shorter chunk.
const MaxPayloadChunk = 1<<24 - 1

// ErrPacketTooLarge is returned by ReadPacket when a logical packet would
// exceed the connection's limit. The caller decides whether to answer 1153.
var ErrPacketTooLarge = errors.New("packet exceeds max_allowed_packet")

// PacketRefusedError is returned by ReadPacket when the buffer for a
// packet could not be reserved from the connection's memory account. The
// packet has been read and dropped, so the stream is still in step and the
// connection can go on; Head is its first bytes (the command and, for
// COM_STMT_SEND_LONG_DATA, the statement and parameter it was for).
type PacketRefusedError struct {
	Head []byte
	Size int
	Err  error // the *memory.Refusal
}

func (e *PacketRefusedError) Error() string {
	return fmt.Sprintf("no memory for a packet of %d bytes: %v", e.Size, e.Err)
}

func (e *PacketRefusedError) Unwrap() error { return e.Err }

// packetHead is how much of a refused packet is kept for the caller.
const packetHead = 16

// KeptBuffer is the largest packet buffer a connection with a memory
// account (a client's) keeps between packets, uncharged: the
// per-connection cost of reading statements without an allocation each.
// Larger packets get a buffer of their own, charged to Mem while they are
// in use and dropped after. Connections without an account (to backends,
// whose number the pools bound) keep up to keptBufferUnaccounted, so that
// rows of up to 1 MiB stream without an allocation each.
const (
	KeptBuffer            = 16 << 10
	keptBufferUnaccounted = 1 << 20
)

// ErrSequence means the peer sent a packet out of order: the stream cannot be
// trusted any more.
var ErrSequence = errors.New("packets out of order")

// Conn reads and writes MySQL packets over a buffered connection. It is not
// safe for concurrent use: a connection is owned by one goroutine at a time.
type Conn struct {
	net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	seq uint8
	// MaxPacket bounds the size of a logical packet read; 0 means no bound.
	MaxPacket int
	// Mem, when set, is charged for every packet buffer larger than
	// KeptBuffer while the packet is in use (until the next ReadPacket).
	Mem *memory.Account
	// charged is what the current buffer holds of Mem.
	charged int64
	buf     []byte
	header  [4]byte
}

// NewConn wraps c with read and write buffers of the given size.
func NewConn(c net.Conn, bufSize int) *Conn {
	return &Conn{Conn: c, r: bufio.NewReaderSize(c, bufSize), w: bufio.NewWriterSize(c, bufSize)}
}

// Raw is the connection underneath, including what the reader has already
// buffered from it: a client that asks for TLS sends its TLS hello right
// after the request, possibly in the same read.
func (c *Conn) Raw() net.Conn { return &bufferedConn{Conn: c.Conn, r: c.r} }

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// Upgrade continues the conversation over nc (a TLS connection built on
// Raw); the sequence number carries on.
func (c *Conn) Upgrade(nc net.Conn) {
	c.Conn = nc
	c.r = bufio.NewReaderSize(nc, c.r.Size())
	c.w.Reset(nc)
}

// ResetSequence starts a new command exchange.
func (c *Conn) ResetSequence() { c.seq = 0 }

// Sequence is the sequence number the next packet will carry.
func (c *Conn) Sequence() uint8 { return c.seq }

// SetSequence is used after a TLS upgrade or when the protocol continues a
// sequence started elsewhere.
func (c *Conn) SetSequence(s uint8) { c.seq = s }

// ReadPacket returns the payload of the next logical packet, joining split
// packets. The returned slice is only valid until the next ReadPacket.
// With Mem set, a packet that needs more than KeptBuffer is read only when
// its buffer can be reserved; otherwise it is skipped and a
// *PacketRefusedError returned.
func (c *Conn) ReadPacket() ([]byte, error) {
	// The previous packet is no longer in use.
	c.Mem.Shrink(c.charged)
	c.charged = 0
	c.buf = c.buf[:0]
	for {
		if _, err := io.ReadFull(c.r, c.header[:]); err != nil {
			return nil, err
		}
		n := int(c.header[0]) | int(c.header[1])<<8 | int(c.header[2])<<16
		if c.header[3] != c.seq {
			return nil, fmt.Errorf("%w: got %d, want %d", ErrSequence, c.header[3], c.seq)
		}
		c.seq++
		if c.MaxPacket > 0 && len(c.buf)+n > c.MaxPacket {
			return nil, ErrPacketTooLarge
		}
		start := len(c.buf)
		if cap(c.buf) < start+n {
			var cost int64
			if c.Mem != nil && start+n > KeptBuffer {
				// Reserved before the allocation; the old buffer, now
				// garbage, is given back once copied.
				cost = memory.Bytes(start + n)
				if err := c.Mem.Grow(cost); err != nil {
					return nil, c.skip(n, err)
				}
			}
			grown := make([]byte, start, start+n)
			copy(grown, c.buf)
			c.buf = grown
			c.Mem.Shrink(c.charged)
			c.charged = cost
		}
		c.buf = c.buf[:start+n]
		if _, err := io.ReadFull(c.r, c.buf[start:]); err != nil {
			return nil, err
		}
		if n < MaxPayloadChunk {
			break
		}
	}
	// Do not keep a large buffer alive for the life of an idle connection.
	keep := keptBufferUnaccounted
	if c.Mem != nil {
		keep = KeptBuffer
	}
	if cap(c.buf) > keep {
		out := c.buf
		c.buf = nil
		return out, nil
	}
	return c.buf, nil
}

// skip reads and drops the rest of a packet whose buffer was refused (n
// bytes of the current chunk, then any chunks after it), keeping its
// first bytes.
func (c *Conn) skip(n int, refusal error) error {
	e := &PacketRefusedError{Err: refusal}
	e.Head = append(e.Head, c.buf[:min(len(c.buf), packetHead)]...)
	c.Mem.Shrink(c.charged)
	c.charged = 0
	c.buf = nil
	for {
		e.Size += n
		keep := min(n, packetHead-len(e.Head))
		if keep > 0 {
			head := make([]byte, keep)
			if _, err := io.ReadFull(c.r, head); err != nil {
				return err
			}
			e.Head = append(e.Head, head...)
		}
		if _, err := io.CopyN(io.Discard, c.r, int64(n-keep)); err != nil {
			return err
		}
		if n < MaxPayloadChunk {
			return e
		}
		if _, err := io.ReadFull(c.r, c.header[:]); err != nil {
			return err
		}
		n = int(c.header[0]) | int(c.header[1])<<8 | int(c.header[2])<<16
		if c.header[3] != c.seq {
			return fmt.Errorf("%w: got %d, want %d", ErrSequence, c.header[3], c.seq)
		}
		c.seq++
		if c.MaxPacket > 0 && e.Size+n > c.MaxPacket {
			return ErrPacketTooLarge
		}
	}
}

// ReleasePacket gives back the current packet's buffer charge before the
// next ReadPacket (a connection that is going away).
func (c *Conn) ReleasePacket() {
	c.Mem.Shrink(c.charged)
	c.charged = 0
}

// WritePacket buffers one logical packet, splitting it as the protocol
// requires. Nothing reaches the peer until Flush (or the buffer fills).
func (c *Conn) WritePacket(payload []byte) error {
	for {
		n := len(payload)
		if n > MaxPayloadChunk {
			n = MaxPayloadChunk
		}
		c.header = [4]byte{byte(n), byte(n >> 8), byte(n >> 16), c.seq}
		c.seq++
		if _, err := c.w.Write(c.header[:]); err != nil {
			return err
		}
		if _, err := c.w.Write(payload[:n]); err != nil {
			return err
		}
		payload = payload[n:]
		if n < MaxPayloadChunk {
			return nil
		}
	}
}

// Flush sends everything buffered.
func (c *Conn) Flush() error { return c.w.Flush() }

// WriteCommandString is WriteCommand with a text argument (COM_QUERY),
// written without first copying it into a []byte.
func (c *Conn) WriteCommandString(cmd byte, arg string) error {
	if len(arg)+1 >= MaxPayloadChunk {
		return c.WriteCommand(cmd, []byte(arg))
	}
	c.startCommand(cmd, len(arg)+1)
	c.w.WriteString(arg)
	return c.w.Flush()
}

// WriteCommand starts a new exchange with one command packet and flushes it.
func (c *Conn) WriteCommand(cmd byte, arg []byte) error {
	c.seq = 0
	n := len(arg) + 1
	if n < MaxPayloadChunk {
		// Fast path: no intermediate copy of the argument.
		c.startCommand(cmd, n)
		c.w.Write(arg)
		return c.w.Flush()
	}
	payload := make([]byte, 0, n)
	payload = append(append(payload, cmd), arg...)
	if err := c.WritePacket(payload); err != nil {
		return err
	}
	return c.w.Flush()
}

// startCommand writes the header and command byte of a one-packet
// command of payload length n (< MaxPayloadChunk); the argument follows.
func (c *Conn) startCommand(cmd byte, n int) {
	c.header = [4]byte{byte(n), byte(n >> 8), byte(n >> 16), 0}
	c.seq = 1
	c.w.Write(c.header[:])
	c.w.WriteByte(cmd)
}

// WriteError writes an ERR packet for err and flushes. Errors that are not
// *mysql.MyError become ER_UNKNOWN_ERROR.
func (c *Conn) WriteError(err error) error {
	if werr := c.WritePacket(ErrorPacket(err)); werr != nil {
		return werr
	}
	return c.Flush()
}

// ErrorPacket encodes err as an ERR packet payload.
func ErrorPacket(err error) []byte {
	var me *mysql.MyError
	if !errors.As(err, &me) {
		me = mysql.NewError(mysql.ER_UNKNOWN_ERROR, err.Error())
	}
	state := me.State
	if len(state) != 5 {
		state = "HY000"
	}
	p := make([]byte, 0, 9+len(me.Message))
	p = append(p, 0xff, byte(me.Code), byte(me.Code>>8), '#')
	p = append(p, state...)
	return append(p, me.Message...)
}

// ParseError decodes an ERR packet payload.
func ParseError(p []byte) *mysql.MyError {
	e := &mysql.MyError{Code: mysql.ER_UNKNOWN_ERROR, State: "HY000"}
	if len(p) < 3 || p[0] != 0xff {
		e.Message = "malformed error packet"
		return e
	}
	e.Code = uint16(p[1]) | uint16(p[2])<<8
	rest := p[3:]
	if len(rest) >= 6 && rest[0] == '#' {
		e.State = string(rest[1:6])
		rest = rest[6:]
	}
	e.Message = string(rest)
	return e
}

// Errorf builds a proxy error with a MySQL code; the SQLSTATE comes from the
// code's standard state.
func Errorf(code uint16, format string, args ...any) *mysql.MyError {
	return mysql.NewError(code, fmt.Sprintf(format, args...))
}
