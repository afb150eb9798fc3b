package wire

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/shardgate/shardgate/memory"
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

// Packets larger than KeptBuffer are charged to the connection's memory
// account while in use, and a packet whose buffer the account refuses is
// skipped whole: the caller gets its head and size, and the next packet
// reads normally.
func TestReadPacketChargesMemory(t *testing.T) {
	const limit = 4 << 20
	packet := func(size int, fill byte) []byte {
		p := bytes.Repeat([]byte{fill}, size)
		copy(p, "HEAD-of-the-packet")
		return p
	}
	tests := []struct {
		name    string
		size    int
		refused bool
		charged int64 // while the packet is in use
	}{
		{"small packets are not charged", KeptBuffer, false, 0},
		{"a large packet is charged while in use", KeptBuffer + 1, false, memory.Bytes(KeptBuffer + 1)},
		{"a 3 MiB packet fits the 4 MiB share", 3 << 20, false, memory.Bytes(3 << 20)},
		{"a 5 MiB packet does not", 5 << 20, true, 0},
		{"nor does one split in two chunks", MaxPayloadChunk + 100, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			budget := memory.NewBudget(64<<20, limit, limit)
			acct := budget.Connection()
			w := &pipeConn{in: bytes.NewReader(nil)}
			wc := NewConn(w, 4096)
			wc.WritePacket(packet(tc.size, 'x'))
			wc.ResetSequence()
			wc.WritePacket([]byte("next"))
			wc.Flush()
			c := NewConn(&pipeConn{in: bytes.NewReader(w.out.Bytes())}, 4096)
			c.Mem = acct
			p, err := c.ReadPacket()
			var refused *PacketRefusedError
			switch {
			case tc.refused && !errors.As(err, &refused):
				t.Fatalf("want a refusal, got %d bytes, %v", len(p), err)
			case tc.refused:
				var r *memory.Refusal
				if string(refused.Head) != "HEAD-of-the-pack" || refused.Size != tc.size || !errors.As(err, &r) || r.Scope != memory.Connection {
					t.Fatalf("refusal head %q size %d (want %d), %v", refused.Head, refused.Size, tc.size, err)
				}
			case err != nil || !bytes.Equal(p, packet(tc.size, 'x')):
				t.Fatalf("read %d bytes, %v", len(p), err)
			}
			if acct.Used() != tc.charged || budget.Reserved() != tc.charged {
				t.Fatalf("while in use: account %d, budget %d, want %d", acct.Used(), budget.Reserved(), tc.charged)
			}
			c.ResetSequence()
			if p, err := c.ReadPacket(); err != nil || string(p) != "next" {
				t.Fatalf("the packet after: %q, %v", p, err)
			}
			if acct.Used() != 0 {
				t.Fatalf("after the next packet the account holds %d", acct.Used())
			}
		})
	}
}
