// Package collate says when MariaDB holds two strings equal under a
// column's collation, so that equal shard keys hash alike: 'Abc', 'abc'
// and 'abc ' are one value under utf8mb4_general_ci (case-insensitive,
// PAD SPACE) and must reach the same physical table.
//
// Key(collation, text) is a byte string that is equal for two texts
// exactly when the server compares them equal: the collation's weight
// string (what WEIGHT_STRING() returns) with trailing characters that
// weigh like a space removed (PAD SPACE), or, for _bin collations, the
// text in the column's character set without trailing spaces (_nopad_
// collations keep them).
//
// The weights are not computed by an algorithm of our own but read from a
// MariaDB server by scripts/gencollate and embedded (data/*.bin.gz): the
// Basic Multilingual Plane of utf8mb4_general_ci and utf8mb4_unicode_ci
// (characters beyond it weigh as U+FFFD in both, as MariaDB 10.11 weighs
// them), latin1 (swedish_ci, general_ci) and gbk_chinese_ci, together with
// each character set's mapping to Unicode. We did not depend on vitess's
// collations package or TiDB's pkg/util/collate: both would add a very
// large module for five tables, both follow MySQL, not MariaDB (TiDB has no
// latin1 collations at all), and a table read from the server cannot
// disagree with the server. Collations not listed here are unknown:
// Lookup reports false and callers must not guess (the planner scatters a
// read and refuses a write).
package collate

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed data/*.bin.gz
var data embed.FS

// table is one collation's weights and its character set's codes, read
// from data once and never changed after.
type table struct {
	weight     map[rune][]byte // by Unicode code point
	native     map[rune]uint16 // code point → code in the character set (latin1, gbk)
	fromNative map[uint16]rune
}

// tables are loaded lazily (the utf8mb4 ones cost a few MB): once per
// process, read-only after. sync.OnceValue keeps this free of mutable
// package state.
var tables = map[string]func() (*table, error){}

func init() {
	for _, name := range []string{"utf8mb4_general_ci", "utf8mb4_unicode_ci", "latin1_swedish_ci", "latin1_general_ci", "gbk_chinese_ci"} {
		tables[name] = sync.OnceValues(func() (*table, error) { return load(name) })
	}
}

func load(name string) (*table, error) {
	f, err := data.Open("data/" + name + ".bin.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		return nil, err
	}
	r := bytes.NewReader(raw)
	n, err := binary.ReadUvarint(r)
	if err != nil || n > 1<<17 {
		return nil, fmt.Errorf("collate: %s: bad table", name)
	}
	cps := make([]rune, n)
	prev := int64(-1)
	for i := range cps {
		d, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, fmt.Errorf("collate: %s: bad table", name)
		}
		prev += int64(d)
		cps[i] = rune(prev)
	}
	codes := make([]int64, n)
	prev = 0
	for i := range codes {
		d, err := binary.ReadVarint(r)
		if err != nil {
			return nil, fmt.Errorf("collate: %s: bad table", name)
		}
		prev += d
		codes[i] = prev
	}
	lens := make([]byte, n)
	if _, err := io.ReadFull(r, lens); err != nil {
		return nil, fmt.Errorf("collate: %s: bad table", name)
	}
	t := &table{weight: make(map[rune][]byte, n)}
	native := !strings.HasPrefix(name, "utf8mb4")
	if native {
		t.native, t.fromNative = map[rune]uint16{}, map[uint16]rune{}
	}
	for i, cp := range cps {
		w := make([]byte, lens[i])
		if _, err := io.ReadFull(r, w); err != nil {
			return nil, fmt.Errorf("collate: %s: bad table", name)
		}
		t.weight[cp] = w
		if native {
			t.native[cp] = uint16(codes[i])
			t.fromNative[uint16(codes[i])] = cp
		}
	}
	return t, nil
}

// Collation is one MariaDB collation the proxy can compare by.
type Collation struct {
	Name    string
	Charset string
	// Binary: the binary collation of VARBINARY/BLOB, bytes as they are.
	Binary bool
	// bin: a _bin collation, compared by code (code point or the
	// character set's code).
	bin bool
	// PadSpace: trailing spaces do not count (every collation but the
	// _nopad_ ones and binary).
	PadSpace bool
	// weights names the weight table (ci collations).
	weights string
}

// Lookup finds a collation by name (lower case, as information_schema
// writes it). ok is false for collations the proxy cannot compare by.
func Lookup(name string) (*Collation, bool) {
	name = strings.ToLower(name)
	if name == "binary" {
		return &Collation{Name: name, Charset: "binary", Binary: true}, true
	}
	cs, rest, ok := strings.Cut(name, "_")
	if !ok {
		return nil, false
	}
	c := &Collation{Name: name, Charset: cs, PadSpace: true}
	base := rest
	if nopad, ok := strings.CutSuffix(rest, "_nopad_ci"); ok {
		base, c.PadSpace = nopad+"_ci", false
	} else if rest == "nopad_bin" {
		base, c.PadSpace = "bin", false
	}
	switch cs {
	case "utf8mb4", "utf8mb3", "utf8":
		if cs == "utf8" {
			c.Charset = "utf8mb3"
		}
		switch base {
		case "bin":
			c.bin = true
		case "general_ci", "unicode_ci":
			c.weights = "utf8mb4_" + base
		default:
			return nil, false
		}
	case "latin1":
		switch base {
		case "bin":
			c.bin = true
		case "swedish_ci", "general_ci":
			c.weights = "latin1_" + base
		default:
			return nil, false
		}
	case "gbk":
		switch base {
		case "bin":
			c.bin = true
		case "chinese_ci":
			c.weights = "gbk_chinese_ci"
		default:
			return nil, false
		}
	default:
		return nil, false
	}
	return c, true
}

// charsetTable is the table that maps a native character set to Unicode.
func charsetTable(cs string) (*table, error) {
	switch cs {
	case "latin1":
		return tables["latin1_swedish_ci"]()
	case "gbk":
		return tables["gbk_chinese_ci"]()
	}
	return nil, nil
}

// Decode reads text in character set cs as code points. ok is false when
// the bytes are not well formed in cs or cs is not one the proxy reads
// (then no key can be computed for certain).
func Decode(cs string, b []byte) (runes []rune, ok bool) {
	switch cs {
	case "utf8mb4", "utf8mb3", "utf8":
		if !utf8.Valid(b) {
			return nil, false
		}
		runes = []rune(string(b))
		if cs != "utf8mb4" {
			for _, r := range runes {
				if r > 0xFFFF {
					return nil, false
				}
			}
		}
		return runes, true
	case "ascii":
		for _, c := range b {
			if c >= 0x80 {
				return nil, false
			}
			runes = append(runes, rune(c))
		}
		return runes, true
	case "latin1", "gbk":
		t, err := charsetTable(cs)
		if err != nil {
			return nil, false
		}
		for i := 0; i < len(b); i++ {
			code := uint16(b[i])
			if cs == "gbk" && b[i] >= 0x81 {
				if i+1 >= len(b) {
					return nil, false
				}
				code = code<<8 | uint16(b[i+1])
				i++
			}
			r, ok := t.fromNative[code]
			if !ok {
				return nil, false
			}
			runes = append(runes, r)
		}
		return runes, true
	}
	return nil, false
}

// Encode writes code points in character set cs. ok is false when a
// character has no code in cs (the server would store '?', or refuse the
// value in strict mode: not a value to route by).
func Encode(cs string, runes []rune) ([]byte, bool) {
	switch cs {
	case "utf8mb4", "utf8mb3":
		out := make([]byte, 0, len(runes))
		for _, r := range runes {
			if cs == "utf8mb3" && r > 0xFFFF {
				return nil, false
			}
			out = utf8.AppendRune(out, r)
		}
		return out, true
	case "latin1", "gbk":
		t, err := charsetTable(cs)
		if err != nil {
			return nil, false
		}
		var out []byte
		for _, r := range runes {
			code, ok := t.native[r]
			if !ok {
				return nil, false
			}
			if code > 0xFF {
				out = append(out, byte(code>>8))
			}
			out = append(out, byte(code))
		}
		return out, true
	}
	return nil, false
}

// Key is the comparison key of text (code points) under c: equal keys
// exactly when MariaDB compares the texts equal. ok is false when a
// character cannot be held by the collation's character set.
func (c *Collation) Key(runes []rune) ([]byte, bool) {
	if c.Binary {
		return nil, false // binary keys are bytes, see KeyBytes
	}
	if c.bin {
		b, ok := Encode(c.Charset, runes)
		if !ok {
			return nil, false
		}
		if c.PadSpace {
			b = bytes.TrimRight(b, " ")
		}
		return b, true
	}
	t, err := tables[c.weights]()
	if err != nil {
		return nil, false
	}
	if c.Charset != "utf8mb4" {
		// The character must exist in the column's set (utf8mb3: the
		// BMP; latin1, gbk: their tables).
		if _, ok := Encode(c.Charset, runes); !ok {
			return nil, false
		}
	}
	space := t.weight[' ']
	weights := make([][]byte, len(runes))
	for i, r := range runes {
		w, ok := t.weight[r]
		if !ok {
			if r <= 0xFFFF || c.Charset != "utf8mb4" {
				return nil, false
			}
			w = t.weight[0xFFFD] // MariaDB weighs characters beyond the BMP as U+FFFD
		}
		weights[i] = w
	}
	end := len(weights)
	if c.PadSpace {
		// PAD SPACE: the shorter string is compared as if padded with
		// spaces, so trailing characters weighing like a space (or
		// nothing) do not count.
		for end > 0 && (len(weights[end-1]) == 0 || bytes.Equal(weights[end-1], space)) {
			end--
		}
	}
	var out []byte
	for _, w := range weights[:end] {
		out = append(out, w...)
	}
	return out, true
}

// KeyBytes is Key for text given as bytes in character set cs (the
// client's literal), or, for the binary collation, the bytes themselves.
func (c *Collation) KeyBytes(cs string, b []byte) ([]byte, bool) {
	if c.Binary {
		return b, true
	}
	runes, ok := Decode(cs, b)
	if !ok {
		return nil, false
	}
	return c.Key(runes)
}
