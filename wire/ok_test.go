package wire

import "testing"

// The info string of an OK packet is length-encoded, as MariaDB sends it
// (Connector/C reads it so: a bare string is a malformed packet), and
// reads back.
func TestOKInfo(t *testing.T) {
	for _, info := range []string{"", "Records: 3  Deleted: 0  Skipped: 0  Warnings: 3"} {
		p := AppendOK(nil, OK{AffectedRows: 3, Status: 2, Warnings: 3, Info: info})
		want := 1 + 1 + 1 + 4
		if info != "" {
			want += 1 + len(info)
		}
		if len(p) != want {
			t.Errorf("%q: packet of %d bytes, want %d", info, len(p), want)
		}
		ok, good := ParseOK(p)
		if !good || ok.Info != info || ok.AffectedRows != 3 || ok.Warnings != 3 {
			t.Errorf("%q: read back %+v, %v", info, ok, good)
		}
	}
}
