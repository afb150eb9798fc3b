package parser

import (
	"encoding/hex"
	"regexp"
	"strings"
)

// hexValue matches what ColumnValueLiteral and BytesLiteral render for a
// string: X'…', optionally after a character set introducer.
var hexValue = regexp.MustCompile(`^(?:_[A-Za-z0-9]+ )?X'([0-9a-fA-F]*)'$`)

// ValueText reads back the string a literal rendered by this package holds
// (ColumnValueLiteral, BytesLiteral, QuoteString for text without quotes
// or backslashes): a session variable's value as the server reported it.
// ok is false for anything else (NULL, numbers, escapes).
func ValueText(lit string) (string, bool) {
	if m := hexValue.FindStringSubmatch(lit); m != nil {
		b, err := hex.DecodeString(m[1])
		return string(b), err == nil
	}
	if len(lit) >= 2 && lit[0] == '\'' && lit[len(lit)-1] == '\'' {
		s := lit[1 : len(lit)-1]
		if !strings.ContainsAny(s, `'\`) {
			return s, true
		}
	}
	return "", false
}
