package parser

import (
	"testing"

	"github.com/shardgate/shardgate/wire"
)

// TestValueText reads back what the renderers write.
func TestValueText(t *testing.T) {
	v := "+05:30"
	for _, c := range []struct {
		lit, want string
		ok        bool
	}{
		{ColumnValueLiteral(wire.Column{Charset: 45}, &v), "+05:30", true}, // utf8mb4 column
		{ColumnValueLiteral(wire.Column{Charset: 63}, &v), "+05:30", true}, // binary
		{QuoteString("SYSTEM"), "SYSTEM", true},
		{BytesLiteral(nil), "", true},
		{"'it''s'", "", false},
		{"NULL", "", false},
		{"12", "", false},
		{"X'zz'", "", false},
	} {
		got, ok := ValueText(c.lit)
		if got != c.want || ok != c.ok {
			t.Errorf("ValueText(%q) = %q, %v; want %q, %v", c.lit, got, ok, c.want, c.ok)
		}
	}
}
