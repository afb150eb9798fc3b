package engine

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

var distinctCols = cols("name", tString, "n", tDecimal, 2, "h0", tString, "h1", tString, "h2", tDecimal, 2, "h3", tString)

func drow(name, n string) vals {
	w := NULL
	if name != NULL {
		w = ci(name)
	}
	return row(name, n, name, w, n, n)
}

var distinctKeys = []SortKey{{Value: 0, Weight: 1}, {Value: 2, Weight: 3}}

func TestDistinct(t *testing.T) {
	tests := []struct {
		name   string
		inputs [][]vals
		want   []vals
	}{
		{name: "duplicates across shards by collation and number",
			inputs: [][]vals{
				{drow(NULL, "1"), drow("apple", "1"), drow("banana", "2.50")},
				{drow(NULL, "1"), drow("Apple", "1.00"), drow("banana", "2.5"), drow("banana", "3")},
			},
			want: []vals{drow(NULL, "1"), drow("apple", "1"), drow("banana", "2.50"), drow("banana", "3")}},
		{name: "NULL n is its own value",
			inputs: [][]vals{{drow("a", NULL), drow("a", "0")}, {drow("a", NULL)}},
			want:   []vals{drow("a", NULL), drow("a", "0")}},
		{name: "empty", inputs: [][]vals{{}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc := newCursor(t)
			var rsps []*resp
			for _, in := range tt.inputs {
				rsps = append(rsps, rs(distinctCols, in...))
			}
			d := &Distinct{Input: &MergeSort{Routes: routes(vc, rsps...), Keys: distinctKeys, Hidden: 4, Purpose: MergeForDistinct}, Keys: distinctKeys, Hidden: 4}
			w := &recWriter{}
			got := wantComplete(t, vc, w, d.Execute(vc, w))
			wantRows(t, got.rows, tt.want...)
		})
	}
}

func TestDistinctErrors(t *testing.T) {
	vc := newCursor(t)
	d := &Distinct{Input: &MergeSort{Routes: routes(vc,
		rs(distinctCols, drow("a", "1"), drow("c", "1")),
		rs(distinctCols, drow("b", "1"), drow("d", "1")).failAfter(1, mysql.ER_QUERY_INTERRUPTED, "killed")),
		Keys: distinctKeys, Hidden: 4}, Keys: distinctKeys, Hidden: 4}
	w := &recWriter{}
	err := d.Execute(vc, w)
	wantFailed(t, vc, w, err)
	wantCode(t, err, mysql.ER_QUERY_INTERRUPTED)
	checkFates(t, vc, []string{"abandoned", "server"})
}
