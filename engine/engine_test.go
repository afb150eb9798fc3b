package engine

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

func TestPlanString(t *testing.T) {
	r0 := &Route{Cluster: "c0", Tables: []string{"t_0", "t_2"}, SQL: "select a"}
	r1 := &Route{Cluster: "c1", Tables: []string{"t_1"}, SQL: "select b"}
	read := &Plan{Read: true, Root: &Trim{Hidden: 2, Input: &Limit{Count: 10, Offset: 5, Input: &MergeSort{
		Routes: []*Route{r0, r1}, Keys: []SortKey{{Value: 0, Weight: 1, Desc: true}}, Hidden: 2}}}}
	if got, want := read.String(), "read, 2 step(s), merge: merge-sort by h0 desc; limit 10 offset 5; drop 2 helper columns\n"+
		"  c0 [t_0,t_2]: select a\n"+
		"  c1 [t_1]: select b\n"; got != want {
		t.Errorf("String:\n%s\nwant:\n%s", got, want)
	}
	if got, want := read.Tree(), "Trim 2 helper columns\n"+
		"  Limit 10 offset 5\n"+
		"    MergeSort by h0 desc\n"+
		"      Route c0 [t_0,t_2]: select a\n"+
		"      Route c1 [t_1]: select b\n"; got != want {
		t.Errorf("Tree:\n%s\nwant:\n%s", got, want)
	}
	if rs := read.Routes(); len(rs) != 2 || rs[0] != r0 || rs[1] != r1 {
		t.Errorf("Routes %v", rs)
	}

	need := BucketNeed{Schema: "db", Table: hourly, Bucket: "2024010203"}
	write := &Plan{Root: &EnsureBuckets{Needs: []BucketNeed{need}, Input: &Fanout{Routes: []*Route{r0, r1}}}}
	if got, want := write.String(), "write, 2 step(s), merge: sum affected rows\n"+
		"  ensure bucket db.ev 2024010203 on "+hourly.BucketCluster("2024010203")+"\n"+
		"  c0 [t_0,t_2]: select a\n"+
		"  c1 [t_1]: select b\n"; got != want {
		t.Errorf("String:\n%s\nwant:\n%s", got, want)
	}
	if got, want := write.Tree(), "EnsureBuckets db.ev 2024010203\n"+
		"  Fanout (sum affected rows)\n"+
		"    Route c0 [t_0,t_2]: select a\n"+
		"    Route c1 [t_1]: select b\n"; got != want {
		t.Errorf("Tree:\n%s\nwant:\n%s", got, want)
	}

	single := &Plan{Read: true, Root: &Route{Cluster: "c0", SQL: "select 1"}}
	if got, want := single.String(), "read, 1 step(s), merge: stream\n  c0: select 1\n"; got != want {
		t.Errorf("String %q, want %q", got, want)
	}
	if got, want := single.Tree(), "Route c0: select 1\n"; got != want {
		t.Errorf("Tree %q, want %q", got, want)
	}

	groups := &Plan{Read: true, Root: &Filter{Text: "count(*) > 1", Input: &OrderedAggregate{Group: true,
		Keys: []SortKey{{Value: 0, Weight: 1}}, Aggs: []AggSpec{{Kind: AggCount, H: []int{2}, Text: "count(*)"}},
		Input: &MergeSort{Routes: []*Route{r0, r1}, Keys: []SortKey{{Value: 0, Weight: 1}}, Purpose: MergeForGroups}}}}
	if got, want := groups.String(), "read, 2 step(s), merge: merge groups by h0 asc; count(*) from h[2]; having count(*) > 1\n"+
		"  c0 [t_0,t_2]: select a\n"+
		"  c1 [t_1]: select b\n"; got != want {
		t.Errorf("String:\n%s\nwant:\n%s", got, want)
	}
}

// Succeeded comes before the statement's connection is released: the
// session decides on release whether to keep the connection for the state
// the statement created (Effects such as HoldsConnState or CalcFoundRows,
// applied by Succeeded). A merged read on one cluster (one UNION ALL step
// under a MergeSort) is what the planner builds for
// SELECT SQL_CALC_FOUND_ROWS ... ORDER BY or SELECT GET_LOCK(...) over a
// sharded table whose tables all live on one cluster.
// (writeRows once closed its input, releasing every connection, before it
// called Succeeded, so the session settled the connection with the previous
// statement's state and returned it to the pool instead of pinning it.)
func TestRowSourceSucceededBeforeRelease(t *testing.T) {
	for _, seq := range []bool{false, true} {
		vc := newCursor(t)
		vc.seq = seq
		header := cols(keyCols(tLong)...)
		m := &MergeSort{Routes: routes(vc, rs(header, keyed("1", "1"))), Keys: []SortKey{{Value: 0, Weight: 1}}, Hidden: 2}
		w := &recWriter{}
		wantComplete(t, vc, w, (&Trim{Input: m, Hidden: 2}).Execute(vc, w))
		if s, r := vc.eventIndex("succeeded"), vc.eventIndex("release:"); s > r {
			t.Errorf("sequential %v: Succeeded after the connection was released: %v", seq, vc.events)
		}
	}
}

// The final EOF of a merged result carries the session's status as it is
// after the inputs were released.
func TestRowSourceFinalStatus(t *testing.T) {
	vc := newCursor(t)
	vc.status = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS
	c := &Concat{Routes: routes(vc, rs(nameCols, row(1, "a")), rs(nameCols))}
	w := &recWriter{}
	got := wantComplete(t, vc, w, c.Execute(vc, w))
	if got.status != vc.status {
		t.Errorf("final status %#x, want %#x", got.status, vc.status)
	}
}

func TestPlanDescribeEveryPrimitive(t *testing.T) {
	r0 := &Route{Cluster: "c0", SQL: "select a"}
	r1 := &Route{Cluster: "c1", SQL: "select b"}
	p := &Plan{Read: true, Root: &Trim{Input: &MemorySort{Keys: []MemorySortKey{{Text: "count(*)", Desc: true}, {Text: "k"}},
		Input: &Filter{Text: "k > 1", Input: &Distinct{Keys: []SortKey{{Value: 1, Weight: 2}},
			Input: &DistinctAggregate{Kind: AggCount, Meta: r0, Input: &Concat{Routes: []*Route{r0, r1}}}}}}}}
	if got, want := p.Tree(), "Trim 0 helper columns\n"+
		"  MemorySort by count(*) desc, k\n"+
		"    Filter k > 1\n"+
		"      Distinct by h1 asc\n"+
		"        DistinctAggregate count (column from c0: select a)\n"+
		"          Concat\n"+
		"            Route c0: select a\n"+
		"            Route c1: select b\n"; got != want {
		t.Errorf("Tree:\n%s\nwant:\n%s", got, want)
	}
	if got, want := p.String(), "read, 2 step(s), merge: concat rows; merge distinct values for count; having k > 1; sort in memory by count(*) desc, k\n"+
		"  c0: select a\n"+
		"  c1: select b\n"; got != want {
		t.Errorf("String:\n%s\nwant:\n%s", got, want)
	}
	if got := (&ShowCreate{Input: r0}).Describe(); got != "ShowCreate (logical names)" {
		t.Errorf("Describe %q", got)
	}
}
