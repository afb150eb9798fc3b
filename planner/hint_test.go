package planner

import "testing"

func TestRoutingHint(t *testing.T) {
	cases := map[string]string{
		"/* shardgate:primary */ SELECT 1":  "primary",
		"  /*shardgate:replica*/ SELECT 1":  "replica",
		"SELECT 1 /* shardgate:primary */":  "",
		"/*! shardgate:primary */ SELECT 1": "",
		"/* other */ SELECT 1":              "",
		"/* unterminated":                   "",
	}
	for sql, want := range cases {
		if got := routingHint(sql); got != want {
			t.Errorf("%q: %q, want %q", sql, got, want)
		}
	}
}
