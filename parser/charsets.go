package parser

import (
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/charset"
)

// mariadbCharsets are the character sets of MariaDB 10.11 (SHOW CHARACTER
// SET) besides those TiDB's parser accepts anyway.
var mariadbCharsets = []string{
	"armscii8", "big5", "cp1250", "cp1251", "cp1256", "cp1257", "cp850", "cp852", "cp866", "cp932",
	"dec8", "eucjpms", "euckr", "gb2312", "geostd8", "greek", "hebrew", "hp8", "keybcs2", "koi8r",
	"koi8u", "latin2", "latin5", "latin7", "macce", "macroman", "sjis", "swe7", "tis620", "ucs2",
	"ujis", "utf16", "utf16le", "utf32",
}

// init makes TiDB's parser accept the names of every MariaDB character set.
// TiDB knows them all but reports most as "Unknown character set", so
// SET NAMES big5, SET CHARACTER SET sjis or a column declared CHARACTER SET
// cp932 could not be read, and the session could not record the character
// set the client chose. The parser only needs the names: it never converts
// text with them (see CheckLexable for how such text is read safely). This
// is the one change the proxy makes to a library's registry, once, before
// any parsing starts.
func init() {
	for _, name := range mariadbCharsets {
		if cs, err := charset.GetCharsetInfo(name); err != nil && cs != nil {
			charset.AddCharset(cs)
		}
	}
}

// Character sets as the escaping sees them.
type csKind int

const (
	// kindUnknown: a name the proxy does not know; values that are not
	// ASCII become X'…'.
	kindUnknown csKind = iota
	// kindSafe: no multibyte character holds a byte 0x5C, 0x27 or 0x60.
	kindSafe
	// kindEscapeUnsafe: 0x5C (and 0x60) can be the second byte of a
	// character.
	kindEscapeUnsafe
	// kindWide: not ASCII-compatible (ucs2, utf16, utf32): never a client
	// character set, but if named, only hex is safe.
	kindWide
)

type csInfo struct {
	kind csKind
	// valid reports whether bytes are well formed in the set, after
	// MariaDB's rules for lead and trail bytes (strings/ctype-*.c).
	valid func([]byte) bool
}

func charsetInfo(cs string) csInfo {
	switch cs {
	case "utf8mb4":
		return csInfo{kindSafe, utf8.Valid}
	case "utf8mb3":
		return csInfo{kindSafe, validUTF8MB3}
	case "binary", "latin1", "latin2", "latin5", "latin7", "ascii", "armscii8", "cp1250", "cp1251",
		"cp1256", "cp1257", "cp850", "cp852", "cp866", "dec8", "geostd8", "greek", "hebrew", "hp8",
		"keybcs2", "koi8r", "koi8u", "macce", "macroman", "swe7", "tis620":
		return csInfo{kindSafe, func([]byte) bool { return true }}
	case "euckr":
		return csInfo{kindSafe, validDouble(in(0x81, 0xfe), func(c byte) bool {
			return in(0x41, 0x5a)(c) || in(0x61, 0x7a)(c) || in(0x81, 0xfe)(c)
		})}
	case "gb2312":
		return csInfo{kindSafe, validDouble(in(0xa1, 0xf7), in(0xa1, 0xfe))}
	case "ujis", "eucjpms":
		return csInfo{kindSafe, validEUCJP}
	case "gbk":
		return csInfo{kindEscapeUnsafe, validDouble(in(0x81, 0xfe), func(c byte) bool { return in(0x40, 0x7e)(c) || in(0x80, 0xfe)(c) })}
	case "big5":
		return csInfo{kindEscapeUnsafe, validDouble(in(0xa1, 0xf9), func(c byte) bool { return in(0x40, 0x7e)(c) || in(0xa1, 0xfe)(c) })}
	case "sjis", "cp932":
		return csInfo{kindEscapeUnsafe, validSJIS}
	case "gb18030":
		return csInfo{kindEscapeUnsafe, validGB18030}
	case "ucs2", "utf16", "utf16le", "utf32":
		return csInfo{kind: kindWide}
	}
	return csInfo{kind: kindUnknown}
}

func in(lo, hi byte) func(byte) bool { return func(c byte) bool { return c >= lo && c <= hi } }

func validUTF8MB3(v []byte) bool {
	if !utf8.Valid(v) {
		return false
	}
	for _, c := range v {
		if c >= 0xf0 { // a four-byte sequence
			return false
		}
	}
	return true
}

// validDouble checks a set of ASCII plus two-byte characters.
func validDouble(lead, trail func(byte) bool) func([]byte) bool {
	return func(v []byte) bool {
		for i := 0; i < len(v); i++ {
			switch c := v[i]; {
			case c < 0x80:
			case lead(c) && i+1 < len(v) && trail(v[i+1]):
				i++
			default:
				return false
			}
		}
		return true
	}
}

func validSJIS(v []byte) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x80, c >= 0xa1 && c <= 0xdf: // ASCII, half-width katakana
		case (in(0x81, 0x9f)(c) || in(0xe0, 0xfc)(c)) && i+1 < len(v) && (in(0x40, 0x7e)(v[i+1]) || in(0x80, 0xfc)(v[i+1])):
			i++
		default:
			return false
		}
	}
	return true
}

func validEUCJP(v []byte) bool {
	hi := in(0xa1, 0xfe)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x80:
		case c == 0x8e && i+1 < len(v) && in(0xa1, 0xdf)(v[i+1]):
			i++
		case c == 0x8f && i+2 < len(v) && hi(v[i+1]) && hi(v[i+2]):
			i += 2
		case hi(c) && i+1 < len(v) && hi(v[i+1]):
			i++
		default:
			return false
		}
	}
	return true
}

func validGB18030(v []byte) bool {
	lead, digit := in(0x81, 0xfe), in(0x30, 0x39)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x80:
		case lead(c) && i+3 < len(v) && digit(v[i+1]) && lead(v[i+2]) && digit(v[i+3]):
			i += 3
		case lead(c) && i+1 < len(v) && (in(0x40, 0x7e)(v[i+1]) || in(0x80, 0xfe)(v[i+1])):
			i++
		default:
			return false
		}
	}
	return true
}
