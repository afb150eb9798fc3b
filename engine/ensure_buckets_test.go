package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

var hourly = &shard.Table{Name: "ev", By: "hour", Column: "ts", Clusters: []string{"c0", "c1"}}

func TestEnsureBuckets(t *testing.T) {
	needs := []BucketNeed{{Schema: "db", Table: hourly, Bucket: "2024010203"}, {Schema: "db", Table: hourly, Bucket: "2024010204"}}
	t.Run("buckets first, then the write", func(t *testing.T) {
		vc := newCursor(t).on("insert", okResp(wire.OK{AffectedRows: 2}))
		e := &EnsureBuckets{Needs: needs, Input: &Route{Cluster: "c1", SQL: "insert"}}
		w := &recWriter{}
		if err := e.Execute(vc, w); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(vc.ensured) != "[db.ev_2024010203 db.ev_2024010204]" {
			t.Errorf("ensured %v", vc.ensured)
		}
		if vc.lastEventIndex("ensure:") > vc.eventIndex("conn:") {
			t.Errorf("the write ran before its buckets existed: %v", vc.events)
		}
		got := decode(t, w.packets)
		if got.ok == nil || got.ok.AffectedRows != 2 {
			t.Errorf("client got %+v", got)
		}
		vc.checkReleased(t)
		vc.checkSucceeded(t, true)
	})
	t.Run("a bucket fails", func(t *testing.T) {
		vc := newCursor(t).on("insert", okResp(wire.OK{AffectedRows: 2}))
		want := wire.Errorf(mysql.ER_UNKNOWN_ERROR, "cannot create")
		vc.ensureErr = map[string]error{"2024010203": want}
		e := &EnsureBuckets{Needs: needs, Input: &Route{Cluster: "c1", SQL: "insert"}}
		w := &recWriter{}
		if err := e.Execute(vc, w); !errors.Is(err, want) {
			t.Errorf("error %v, want %v", err, want)
		}
		if len(vc.ensured) != 1 || len(vc.conns) != 0 || len(w.packets) != 0 {
			t.Errorf("went on after the failure: ensured %v, %d conns", vc.ensured, len(vc.conns))
		}
		vc.checkSucceeded(t, false)
	})
	if got, want := (&EnsureBuckets{Needs: needs}).Describe(), "EnsureBuckets db.ev 2024010203, db.ev 2024010204"; got != want {
		t.Errorf("Describe %q, want %q", got, want)
	}
}
