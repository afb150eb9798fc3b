// Command gencollate writes the weight tables of package collate from a
// running MariaDB: the tables are what the server itself answers, so the
// proxy's idea of "equal under this collation" is the server's by
// construction. Run it against a MariaDB of the version the backends run:
//
//	go run ./scripts/gencollate -dsn 'root@unix(/path/to/sock)/mysql' -out collate/data
//
// Each collation becomes <name>.bin.gz: the gzip of, for every character
// its character set holds in the Basic Multilingual Plane (MariaDB weighs
// every character beyond it as U+FFFD in these collations; collate relies
// on that), in code point order, column by column (which compresses far
// better than records): the count (uvarint), the code points' deltas
// (uvarint), the native codes' deltas from the previous one (varint; 0
// for utf8mb4), the weights' lengths (one byte each) and the weights.
package main

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	_ "github.com/go-sql-driver/mysql"
)

type source struct {
	name string
	// query yields rows (code point, native code, weight in hex); rows
	// with a NULL weight or code point are characters the set lacks.
	query string
}

func unicodeQuery(coll string) string {
	return fmt.Sprintf(`SELECT seq, 0, HEX(WEIGHT_STRING(CONVERT(CHAR(seq USING utf32) USING utf8mb4) COLLATE %s))
FROM seq_0_to_65535 WHERE seq NOT BETWEEN 55296 AND 57343`, coll)
}

// nativeQuery reads a character set's characters by their codes: single
// bytes below 256, double bytes above. A code whose conversion to Unicode
// gives '?' (and is not '?') is not a character of the set.
func nativeQuery(cs, coll, where string) string {
	return fmt.Sprintf(`SELECT ORD(CONVERT(c USING utf32)), seq, HEX(WEIGHT_STRING(c COLLATE %s)) FROM
(SELECT seq, CHAR(seq USING %s) AS c FROM seq_0_to_65535 WHERE %s) x
WHERE CONVERT(c USING utf8mb4) <> '?' OR seq = 63`, coll, cs, where)
}

func main() {
	dsn := flag.String("dsn", "", "go-sql-driver DSN of a MariaDB server")
	out := flag.String("out", "collate/data", "output directory")
	flag.Parse()
	db, err := sql.Open("mysql", *dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	gbkCodes := "seq < 128 OR ((seq >> 8) BETWEEN 129 AND 254 AND (seq & 255) BETWEEN 64 AND 254 AND (seq & 255) <> 127)"
	sources := []source{
		{"utf8mb4_general_ci", unicodeQuery("utf8mb4_general_ci")},
		{"utf8mb4_unicode_ci", unicodeQuery("utf8mb4_unicode_ci")},
		{"latin1_swedish_ci", nativeQuery("latin1", "latin1_swedish_ci", "seq < 256")},
		{"latin1_general_ci", nativeQuery("latin1", "latin1_general_ci", "seq < 256")},
		{"gbk_chinese_ci", nativeQuery("gbk", "gbk_chinese_ci", gbkCodes)},
	}
	for _, s := range sources {
		rows, err := db.Query(s.query)
		if err != nil {
			log.Fatalf("%s: %v", s.name, err)
		}
		type char struct {
			cp, code int64
			w        []byte
		}
		var chars []char
		for rows.Next() {
			var cp, code sql.NullInt64
			var w sql.NullString
			if err := rows.Scan(&cp, &code, &w); err != nil {
				log.Fatal(err)
			}
			if !cp.Valid || !w.Valid || cp.Int64 > 0xFFFF {
				continue
			}
			wb, err := hex.DecodeString(w.String)
			if err != nil || len(wb) > 255 {
				log.Fatalf("%s: weight of %d: %q", s.name, cp.Int64, w.String)
			}
			chars = append(chars, char{cp.Int64, code.Int64, wb})
		}
		if err := rows.Err(); err != nil {
			log.Fatal(err)
		}
		sort.Slice(chars, func(i, j int) bool { return chars[i].cp < chars[j].cp })
		var buf bytes.Buffer
		buf.Write(binary.AppendUvarint(nil, uint64(len(chars))))
		prev := int64(-1)
		for _, c := range chars {
			if c.cp == prev {
				log.Fatalf("%s: two codes for U+%04X", s.name, c.cp)
			}
			buf.Write(binary.AppendUvarint(nil, uint64(c.cp-prev)))
			prev = c.cp
		}
		prev = 0
		for _, c := range chars {
			buf.Write(binary.AppendVarint(nil, c.code-prev))
			prev = c.code
		}
		for _, c := range chars {
			buf.WriteByte(byte(len(c.w)))
		}
		for _, c := range chars {
			buf.Write(c.w)
		}
		n := len(chars)
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		zw.Write(buf.Bytes())
		zw.Close()
		path := filepath.Join(*out, s.name+".bin.gz")
		if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
		log.Printf("%s: %d characters, %d bytes", path, n, z.Len())
	}
}
