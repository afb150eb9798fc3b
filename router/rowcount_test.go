package router

import "testing"

type nopWriter struct{ n int }

func (w *nopWriter) WritePacket(p []byte) error { w.n++; return nil }
func (w *nopWriter) Flush() error               { return nil }

func TestRowCounter(t *testing.T) {
	colDef := []byte{0x03, 'd', 'e', 'f'}
	eof := []byte{0xfe, 0, 0, 2, 0}
	row := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	for _, tc := range []struct {
		name           string
		packets        [][]byte
		rows, affected uint64
	}{
		{"EOF mode", [][]byte{{2}, colDef, colDef, eof, row("a"), row("b"), row("c"), eof}, 3, 0},
		{"EOF mode, no rows", [][]byte{{1}, colDef, eof, eof}, 0, 0},
		{"deprecate EOF", [][]byte{{1}, colDef, row("a"), row("b"), eof}, 2, 0},
		{"deprecate EOF, no rows", [][]byte{{1}, colDef, eof}, 0, 0},
		{"a row that starts like EOF but is long", [][]byte{{1}, colDef, eof, append([]byte{0xfe}, make([]byte, 12)...), eof}, 1, 0},
		{"OK with affected rows", [][]byte{{0x00, 0xfc, 0x10, 0x27, 0, 2, 0, 0, 0}}, 0, 10000},
		{"two results", [][]byte{{1}, colDef, eof, row("a"), eof, {1}, colDef, eof, row("b"), row("c"), eof}, 3, 0},
		{"an error mid-rows", [][]byte{{1}, colDef, eof, row("a"), {0xff, 0x10, 0x04}}, 1, 0},
	} {
		w := &nopWriter{}
		rc := &rowCounter{w: w}
		for _, p := range tc.packets {
			rc.WritePacket(p)
		}
		if rc.rows != tc.rows || rc.affected != tc.affected || w.n != len(tc.packets) {
			t.Errorf("%s: rows %d affected %d passed %d, want %d %d %d", tc.name, rc.rows, rc.affected, w.n, tc.rows, tc.affected, len(tc.packets))
		}
	}
}
