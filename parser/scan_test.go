package parser

import (
	"reflect"
	"testing"
)

func TestNames(t *testing.T) {
	cases := []struct {
		sql  string
		mode TextMode
		want []Name
	}{
		{"HANDLER t OPEN", TextMode{}, []Name{{"HANDLER"}, {"t"}, {"OPEN"}}},
		{"SELECT a.b, `x y`.`c` FROM s.t", TextMode{}, []Name{{"SELECT"}, {"a", "b"}, {"x y", "c"}, {"FROM"}, {"s", "t"}}},
		{"SELECT 'secret.creds', \"a.b\" -- other.t\n", TextMode{}, []Name{{"SELECT"}}},
		{"SELECT \"s\".\"t\"", TextMode{AnsiQuotes: true}, []Name{{"SELECT"}, {"s", "t"}}},
		{"DO 1 /* other.t */ /*!50000 FROM secret.creds */", TextMode{}, []Name{{"DO"}, {"FROM"}, {"secret", "creds"}}},
		{"SELECT s . t, 12.5, 3", TextMode{}, []Name{{"SELECT"}, {"s", "t"}}},
		{`SELECT 'a\' , secret.creds -- '`, TextMode{NoBackslashEscapes: true}, []Name{{"SELECT"}, {"secret", "creds"}}},
	}
	for _, c := range cases {
		if got := Names(c.sql, c.mode); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Names(%q) = %q, want %q", c.sql, got, c.want)
		}
	}
}
