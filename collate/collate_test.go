package collate

import (
	"bytes"
	"testing"
)

// TestKeyEquality: texts MariaDB 10.11 holds equal under a collation have
// equal keys, and texts it holds different do not (each pair checked with
// SELECT a = b COLLATE c on the ref server; integration/canon_test.go
// checks random strings against the server).
func TestKeyEquality(t *testing.T) {
	cases := []struct {
		coll  string
		a, b  string
		equal bool
	}{
		{"utf8mb4_general_ci", "Abc", "abc", true},
		{"utf8mb4_general_ci", "abc ", "abc", true},
		{"utf8mb4_general_ci", "ÀBC", "abc", true},
		{"utf8mb4_general_ci", "abc\t", "abc", false},
		{"utf8mb4_general_ci", " abc", "abc", false},
		{"utf8mb4_general_ci", "abd", "abc", false},
		{"utf8mb4_general_ci", "😀", "😁", true}, // beyond the BMP: all weigh as U+FFFD
		{"utf8mb4_general_ci", "ß", "s", true},
		{"utf8mb4_unicode_ci", "ß", "ss", true},
		{"utf8mb4_unicode_ci", "a\u00a0", "a", true}, // NBSP weighs like a space
		{"utf8mb4_unicode_ci", "Straße", "STRASSE", true},
		{"utf8mb4_unicode_ci", "a", "b", false},
		{"utf8mb4_bin", "abc ", "abc", true},
		{"utf8mb4_bin", "Abc", "abc", false},
		{"utf8mb4_nopad_bin", "abc ", "abc", false},
		{"utf8mb4_general_nopad_ci", "ABC", "abc", true},
		{"utf8mb4_general_nopad_ci", "abc ", "abc", false},
		{"latin1_swedish_ci", "ü", "y", true},
		{"latin1_swedish_ci", "å", "a", false},
		{"latin1_swedish_ci", "ABC  ", "abc", true},
		{"latin1_bin", "ABC", "abc", false},
		{"gbk_chinese_ci", "ABC ", "abc", true},
		{"gbk_chinese_ci", "一", "丁", false},
		{"utf8mb3_general_ci", "Abc", "abc", true},
	}
	for _, c := range cases {
		coll, ok := Lookup(c.coll)
		if !ok {
			t.Fatalf("%s: not known", c.coll)
		}
		ka, okA := coll.Key([]rune(c.a))
		kb, okB := coll.Key([]rune(c.b))
		if !okA || !okB {
			t.Errorf("%s: %q or %q has no key", c.coll, c.a, c.b)
			continue
		}
		if got := bytes.Equal(ka, kb); got != c.equal {
			t.Errorf("%s: %q = %q is %v, MariaDB says %v", c.coll, c.a, c.b, got, c.equal)
		}
	}
}

// TestDecode reads client text in the character sets a session may use,
// and refuses what is not well formed or not held by the set.
func TestDecode(t *testing.T) {
	for _, c := range []struct {
		cs   string
		in   []byte
		want string
		ok   bool
	}{
		{"utf8mb4", []byte("é😀"), "é😀", true},
		{"utf8mb3", []byte("😀"), "", false},
		{"utf8mb4", []byte{0xff}, "", false},
		{"latin1", []byte{0xe9, 0x80}, "é€", true}, // MariaDB's latin1 is cp1252
		{"gbk", []byte{0xd2, 0xbb, 'a'}, "一a", true},
		{"gbk", []byte{0xd2}, "", false},
		{"big5", []byte("a"), "", false},
	} {
		got, ok := Decode(c.cs, c.in)
		if ok != c.ok || (ok && string(got) != c.want) {
			t.Errorf("Decode(%s, % x) = %q, %v; want %q, %v", c.cs, c.in, string(got), ok, c.want, c.ok)
		}
	}
	if _, ok := Lookup("big5_chinese_ci"); ok {
		t.Error("big5_chinese_ci is known, but the proxy has no table for it")
	}
	coll, _ := Lookup("latin1_swedish_ci")
	if _, ok := coll.Key([]rune("中")); ok {
		t.Error("latin1 gave a key for a character it cannot hold")
	}
}
