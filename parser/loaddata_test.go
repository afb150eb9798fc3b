package parser

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// loadFormat parses a LOAD DATA statement's options.
func loadFormat(t testing.TB, opts string) LoadFormat {
	t.Helper()
	stmts, err := New().Parse("LOAD DATA LOCAL INFILE 'f' INTO TABLE t " + opts)
	if err != nil {
		t.Fatalf("%s: %v", opts, err)
	}
	f, err := LoadFormatOf(stmts[0].Node.(*ast.LoadDataStmt))
	if err != nil {
		t.Fatalf("%s: %v", opts, err)
	}
	return f
}

// readAll reads every row, fields joined by | and NULL as <N>, a row
// cut short marked with +.
func readAll(t testing.TB, f LoadFormat, data string, maxFields int) []string {
	t.Helper()
	lr := NewLoadReader(strings.NewReader(data), f, 1<<20)
	var out []string
	for {
		row, err := lr.Next(maxFields)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for i, v := range row.Fields {
			if row.Null[i] {
				parts = append(parts, "<N>")
			} else {
				parts = append(parts, string(v))
			}
		}
		s := strings.Join(parts, "|")
		if row.Cut {
			s += "+"
		}
		out = append(out, s)
	}
}

// What MariaDB's LOAD DATA reads from a file, option by option (checked
// against MariaDB 10.11 by the integration test's differential files).
func TestLoadReader(t *testing.T) {
	csv := `FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\r\n'`
	tests := []struct {
		name, opts, data string
		max              int
		want             []string
	}{
		{"defaults: tab and newline", "", "1\ta\n2\tb\n", 0, []string{"1|a", "2|b"}},
		{"last line without terminator", "", "1\ta\n2\tb", 0, []string{"1|a", "2|b"}},
		{"empty file", "", "", 0, nil},
		{"empty line is one empty field", "", "1\ta\n\n2\tb\n", 0, []string{"1|a", "", "2|b"}},
		{"\\N is NULL, \\\\N is not", "", "\\N\t\\\\N\tN\n", 0, []string{"<N>|\\N|N"}},
		{"escapes", "", `a\tb\nc\0d\Ze\\f\,g` + "\n", 0, []string{"a\tb\nc\x00d\x1ae\\f,g"}},
		{"escaped terminators are data", "", "a\\\tb\tc\\\nd\n", 0, []string{"a\tb|c\nd"}},
		{"word NULL is text without ENCLOSED BY", "", "NULL\n", 0, []string{"NULL"}},
		{"word NULL is NULL with ENCLOSED BY, quoted it is text", csv, "NULL,\"NULL\"\r\n", 0, []string{"<N>|NULL"}},
		{"csv with CRLF", csv, "1,\"a,b\"\r\n2,\"c\"\"d\"\r\n", 0, []string{"1|a,b", "2|c\"d"}},
		{"enclosure inside a field is text", csv, "1,a\"b\r\n", 0, []string{"1|a\"b"}},
		{"enclosed field may hold the line terminator", csv, "1,\"x\r\ny\"\r\n", 0, []string{"1|x\r\ny"}},
		{"enclosure not followed by a terminator is text", csv, "\"ab\"c\",d\r\n", 0, []string{"ab\"c|d"}},
		{"unclosed enclosure at the end keeps it", csv, "1,\"abc", 0, []string{"1|\"abc"}},
		{"enclosed \\N is NULL", csv, "\"\\N\",x\r\n", 0, []string{"<N>|x"}},
		{"escape equal to enclosure only doubles", `FIELDS TERMINATED BY ',' ENCLOSED BY '"' ESCAPED BY '"'`, "\"a\"\"b\",\"c\\n\"\n", 0, []string{"a\"b|c\\n"}},
		{"no escape", `FIELDS ESCAPED BY ''`, "a\\tb\t\\N\n", 0, []string{"a\\tb|\\N"}},
		{"multi-byte terminators", `FIELDS TERMINATED BY '||' LINES TERMINATED BY '##'`, "a|b||c##d||e|##", 0, []string{"a|b|c", "d|e|"}},
		{"starting by skips text before the prefix and lines without it", `LINES STARTING BY 'xx'`, "junkxx1\ta\nnoprefix\nxx2\tb\n", 0, []string{"1|a", "2|b"}},
		{"ignore lines", `IGNORE 2 LINES`, "h1\nh2\n1\ta\n", 0, []string{"1|a"}},
		{"ignore lines counts escaped newlines as data", `IGNORE 1 LINES`, "h\\\n1\n2\n", 0, []string{"2"}},
		{"more fields than columns: cut", "", "1\t2\t3\n4\n", 2, []string{"1|2+", "4"}},
		{"fewer fields than columns", "", "1\n", 3, []string{"1"}},
		{"utf8 bytes pass", "", "é\t日本\n", 0, []string{"é|日本"}},
		{"sjis second byte equal to backslash", `CHARACTER SET sjis`, "\x95\x5c\tx\n", 0, []string{"\x95\x5c|x"}},
		{"gbk second byte equal to the field terminator", `CHARACTER SET gbk FIELDS TERMINATED BY '|'`, "\x81\x7c|x\n", 0, []string{"\x81\x7c|x"}},
		{"empty line terminator is the field terminator", `FIELDS TERMINATED BY ',' LINES TERMINATED BY ''`, "a,b,", 1, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, loadFormat(t, tt.opts), tt.data, tt.max)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") || len(got) != len(tt.want) {
				t.Errorf("rows %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadFormatRefusals(t *testing.T) {
	stmts, err := New().Parse(`LOAD DATA LOCAL INFILE 'f' INTO TABLE t FIELDS TERMINATED BY ''`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFormatOf(stmts[0].Node.(*ast.LoadDataStmt)); err == nil {
		t.Error("fixed-width rows accepted")
	}
}

func TestLoadReaderRowBound(t *testing.T) {
	lr := NewLoadReader(strings.NewReader(strings.Repeat("x", 5000)), LoadFormat{FieldTerm: "\t", Enclosed: -1, Escape: '\\', LineTerm: "\n"}, 1000)
	if _, err := lr.Next(0); !errors.Is(err, ErrRowTooLong) {
		t.Errorf("a 5000-byte row with a 1000-byte bound: %v", err)
	}
}

func TestLiteralIn(t *testing.T) {
	m := TextMode{Charset: "utf8mb4"}
	tests := []struct {
		v, cs, want string
	}{
		{"abc", "utf8mb4", "'abc'"},
		{"abc", "latin1", "'abc'"},
		{"é", "latin1", "_latin1 X'c3a9'"},
		{"é", "", "'é'"}, // the session's own character set: its quoting
		{"é", "x;DROP", "X'c3a9'"},
	}
	for _, tt := range tests {
		if got := LiteralIn([]byte(tt.v), tt.cs, m); got != tt.want {
			t.Errorf("LiteralIn(%q, %q) = %s, want %s", tt.v, tt.cs, got, tt.want)
		}
	}
}

// No file makes the reader panic or loop, whatever the options.
func FuzzLoadReader(f *testing.F) {
	f.Add([]byte("1,\"a\"\"b\"\r\n\\N,x\r\n"), byte(','), byte('"'), byte('\\'), "\r\n", "")
	f.Add([]byte("a\tb\n"), byte('\t'), byte(0), byte('\\'), "\n", "xx")
	f.Add([]byte("\"\"\"\\"), byte('"'), byte('"'), byte('"'), "\"", "\"")
	f.Fuzz(func(t *testing.T, data []byte, term, encl, esc byte, lineTerm, start string) {
		fm := LoadFormat{FieldTerm: string(term), Enclosed: int(encl), Escape: int(esc), LineTerm: lineTerm, LineStart: start}
		if encl == 0 {
			fm.Enclosed = -1
		}
		if lineTerm == "" {
			fm.LineTerm = fm.FieldTerm
		}
		lr := NewLoadReader(strings.NewReader(string(data)), fm, 1<<16)
		for i := 0; i <= len(data)+1; i++ {
			_, err := lr.Next(3)
			if err != nil {
				return
			}
		}
		t.Fatalf("more rows than bytes from %q", data)
	})
}

type failingReader struct{ data string }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, errors.New("connection reset")
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// A source that fails is not a file that ends: the rows before the
// failure are read, then its error comes back (never io.EOF).
func TestLoadReaderSourceFails(t *testing.T) {
	lr := NewLoadReader(&failingReader{data: "1\ta\n2\tb"}, LoadFormat{FieldTerm: "\t", Enclosed: -1, Escape: '\\', LineTerm: "\n"}, 0)
	var err error
	rows := 0
	for err == nil {
		_, err = lr.Next(0)
		if err == nil {
			rows++
		}
	}
	if err == io.EOF || rows > 1 {
		t.Errorf("after %d rows: %v, want the source's error after at most the first row", rows, err)
	}
}
