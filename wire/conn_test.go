package wire

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

// pipeConn is a net.Conn reading from a fixed buffer and recording writes.
type pipeConn struct {
	net.Conn
	in  *bytes.Reader
	out bytes.Buffer
}

func (p *pipeConn) Read(b []byte) (int, error)  { return p.in.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error) { return p.out.Write(b) }
func (p *pipeConn) Close() error                { return nil }
func (p *pipeConn) SetDeadline(time.Time) error { return nil }

func TestPacketRoundTripAcrossSplits(t *testing.T) {
	for _, size := range []int{0, 1, 250, MaxPayloadChunk - 1, MaxPayloadChunk, MaxPayloadChunk + 1, 2*MaxPayloadChunk + 5} {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i * 31)
		}
		w := &pipeConn{in: bytes.NewReader(nil)}
		wc := NewConn(w, 4096)
		if err := wc.WritePacket(payload); err != nil {
			t.Fatal(err)
		}
		wc.Flush()
		wantChunks := size/MaxPayloadChunk + 1
		if got := w.out.Len() - size; got != 4*wantChunks {
			t.Fatalf("size %d: %d header bytes, want %d", size, got, 4*wantChunks)
		}
		rc := NewConn(&pipeConn{in: bytes.NewReader(w.out.Bytes())}, 4096)
		got, err := rc.ReadPacket()
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("size %d: payload differs", size)
		}
		if rc.Sequence() != byte(wantChunks) {
			t.Fatalf("size %d: sequence %d, want %d", size, rc.Sequence(), wantChunks)
		}
	}
}

func TestReadPacketLimitsAndOrder(t *testing.T) {
	big := []byte{0xff, 0xff, 0x7f, 0, 1}
	c := NewConn(&pipeConn{in: bytes.NewReader(big)}, 64)
	c.MaxPacket = 1 << 20
	if _, err := c.ReadPacket(); !errors.Is(err, ErrPacketTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	wrongSeq := []byte{1, 0, 0, 5, 'x'}
	c = NewConn(&pipeConn{in: bytes.NewReader(wrongSeq)}, 64)
	if _, err := c.ReadPacket(); !errors.Is(err, ErrSequence) {
		t.Fatalf("out of order: %v", err)
	}
}

func TestOKAndErrorPackets(t *testing.T) {
	ok := OK{AffectedRows: 300, InsertID: 1 << 40, Status: 0x22, Warnings: 3, Info: "Rows matched: 1"}
	got, good := ParseOK(AppendOK(nil, ok))
	if !good || got != ok {
		t.Fatalf("OK round trip: %+v", got)
	}
	e := ParseError(ErrorPacket(Errorf(1146, "Table 'x' doesn't exist")))
	if e.Code != 1146 || e.State != "42S02" || e.Message != "Table 'x' doesn't exist" {
		t.Fatalf("error round trip: %+v", e)
	}
	col := Column{Schema: "shop", Table: "t", OrgTable: "t", Name: "a", OrgName: "a", Charset: 45, Length: 40, Type: 253, Flags: 1, Decimals: 0}
	if back, ok := ParseColumn(AppendColumn(nil, col)); !ok || back != col {
		t.Fatalf("column round trip: %+v", back)
	}
}

func TestLenEncRejectsTruncation(t *testing.T) {
	for _, b := range [][]byte{{}, {0xfc, 1}, {0xfd, 1, 2}, {0xfe, 1, 2, 3}, {0xff}, {5, 'a'}} {
		if _, _, _, ok := LenEncString(b); ok {
			t.Errorf("%x accepted", b)
		}
	}
	if s, n, _, ok := LenEncString([]byte{0xfc, 2, 0, 'h', 'i', 'x'}); !ok || string(s) != "hi" || n != 5 {
		t.Fatalf("got %q %d %v", s, n, ok)
	}
}

// FuzzReadPacket feeds arbitrary bytes to the packet reader and the decoders
// that run on client or server bytes: none may panic.
func FuzzReadPacket(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 3})
	f.Add([]byte{0xff, 0xff, 0xff, 0, 1, 2})
	f.Add(append([]byte{7, 0, 0, 0}, AppendOK(nil, OK{AffectedRows: 1})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewConn(&pipeConn{in: bytes.NewReader(data)}, 64)
		c.MaxPacket = 1 << 16
		for i := 0; i < 8; i++ {
			p, err := c.ReadPacket()
			if err != nil {
				return
			}
			ParseOK(p)
			ParseError(p)
			ParseColumn(p)
			ParseTextRow(p, 3)
			IsEOF(p)
			EOFStatus(p)
		}
	})
}

// A TLS hello that arrives in the same read as the request for TLS must
// reach the TLS handshake: Raw hands over what the reader buffered.
func TestRawKeepsBufferedBytes(t *testing.T) {
	req := []byte{2, 0, 0, 1, 'h', 'i'}
	c := NewConn(&pipeConn{in: bytes.NewReader(append(req, "HELLO"...))}, 4096)
	c.SetSequence(1)
	if p, err := c.ReadPacket(); err != nil || string(p) != "hi" {
		t.Fatalf("%q %v", p, err)
	}
	buf := make([]byte, 5)
	if n, _ := c.Raw().Read(buf); string(buf[:n]) != "HELLO" {
		t.Fatalf("lost the bytes read ahead: %q", buf[:n])
	}
}
