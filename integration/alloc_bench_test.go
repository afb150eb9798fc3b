package integration

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkPointSelectAllocs counts the proxy's heap allocations per point
// select (issue 18: at most 10), with the text protocol and the values
// written into the text as ORMs send them: a new text every time. The
// same client runs the same statements directly against main's replica,
// then through an in-process proxy on an unsharded table and on a sharded
// one; runtime.MemStats counts every allocation in the process (exactly,
// not sampled), so the proxy's share is the through-the-proxy count minus
// the direct one. Background work (health checks) is included and is
// well under one allocation per statement over the run.
//
//	go test ./integration -run '^$' -bench PointSelectAllocs -benchtime 1x
func BenchmarkPointSelectAllocs(b *testing.B) {
	name := databaseOnPrimaries(b, "txn_allocs")
	p := startProxy(b, fmt.Sprintf(`
  %s:
    cluster: main
    tables:
      sh:
        shard: {by: hash, column: id, tables: 8, clusters: [s0, s1]}
`, name))
	db := p.open(b, name)
	for _, table := range []string{"u", "sh"} {
		if _, err := db.Exec("CREATE TABLE " + table + " (id INT PRIMARY KEY, c CHAR(20))"); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 1000; i += 100 {
			q := "INSERT INTO " + table + " VALUES "
			for j := i; j < i+100; j++ {
				if j > i {
					q += ", "
				}
				q += fmt.Sprintf("(%d, 'row %d')", j, j)
			}
			if _, err := db.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
	}
	syncReplicas(b)
	const n = 20000
	run := func(target *sql.DB, table string) float64 {
		ctx := context.Background()
		c, err := target.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		var got string
		query := func(i int) {
			if err := c.QueryRowContext(ctx, fmt.Sprintf("SELECT c FROM %s WHERE id = %d", table, i%1000)).Scan(&got); err != nil {
				b.Fatal(err)
			}
		}
		for i := 0; i < 500; i++ { // caches, pools and buffers warm
			query(i)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < n; i++ {
			query(i * 7)
		}
		runtime.ReadMemStats(&after)
		return float64(after.Mallocs-before.Mallocs) / n
	}
	direct := direct(b, mainReplicas[0], name)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		client := run(direct, "u")
		unsharded := run(db, "u") - client
		sharded := run(db, "sh") - client
		b.ReportMetric(client, "client-allocs/query")
		b.ReportMetric(unsharded, "proxy-allocs/query")
		b.ReportMetric(sharded, "proxy-sharded-allocs/query")
		hits, misses, _ := p.router.PlanCacheStats()
		b.Logf("%d point selects each: client alone %.1f allocations per query; the proxy adds %.1f (unsharded) and %.1f (sharded); plan cache %d hits, %d misses",
			n, client, unsharded, sharded, hits, misses)
	}
}
