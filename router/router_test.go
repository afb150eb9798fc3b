package router

import (
	"testing"
)

func TestLikeMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"sh%", "shop", true}, {"%op", "shop", true}, {"s_op", "shop", true}, {"s_p", "shop", false},
		{"shop", "shop", true}, {"shop\\_x", "shop_x", true}, {"shop\\_x", "shopax", false}, {"%", "", true},
	}
	for _, c := range cases {
		if got := likeMatch(c.pattern, c.s); got != c.want {
			t.Errorf("%q LIKE %q = %v", c.s, c.pattern, got)
		}
	}
}

func TestNamesForCollation(t *testing.T) {
	cases := map[uint8]string{
		45:  "'utf8mb4' COLLATE 'utf8mb4_general_ci'",
		255: "'utf8mb4' COLLATE 'utf8mb4_general_ci'", // MySQL 8's default, unknown to MariaDB 10.11
		8:   "'latin1' COLLATE 'latin1_swedish_ci'",
		33:  "'utf8mb3' COLLATE 'utf8mb3_general_ci'",
		63:  "'binary' COLLATE 'binary'",
	}
	for id, want := range cases {
		if got := namesForCollation(id); got != want {
			t.Errorf("collation %d: %s, want %s", id, got, want)
		}
	}
}
