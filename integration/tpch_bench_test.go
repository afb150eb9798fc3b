package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/bench/tpch"
)

// BenchmarkTPCH loads a TPC-H instance (scale 0.01 unless
// SHARDGATE_TPCH_SCALE says otherwise) through the proxy and on ref, then
// times each query on both, alternating, in one run: each line reports
// ref-ms/op (one MariaDB holding every row), proxy-ms/op and their ratio.
// A query the proxy refuses reports ref's time only and logs the refusal.
// Every proxy answer is compared with ref's first.
//
//	go test ./integration -run '^$' -bench TPCH -benchtime 5x
func BenchmarkTPCH(b *testing.B) {
	e := loadTPCH(b, tpchScale(b, 0.01))
	for _, q := range tpch.Queries {
		b.Run(fmt.Sprintf("Q%02d", q.Number), func(b *testing.B) {
			want := tpchRun(b, e.ref, "text", q.SQL)
			if want.err != nil {
				b.Fatalf("on ref: %v", want.err)
			}
			got := tpchRun(b, e.proxy, "text", q.SQL)
			refused := ""
			if me, ok := got.err.(*mysql.MySQLError); ok && me.Number == 1235 {
				refused = me.Message
				b.Logf("Q%d refused through the proxy: %d %s", q.Number, me.Number, strings.TrimPrefix(me.Message, "shardgate: "))
			} else if got.err != nil {
				b.Fatalf("through the proxy: %v", got.err)
			} else if d := tpchCompare(q, got, want); d != "" {
				b.Fatalf("answers differ: %s", d)
			}
			var refTime, proxyTime time.Duration
			n := 0
			for b.Loop() {
				start := time.Now()
				if r := tpchRun(b, e.ref, "text", q.SQL); r.err != nil {
					b.Fatal(r.err)
				}
				refTime += time.Since(start)
				if refused == "" {
					start = time.Now()
					if r := tpchRun(b, e.proxy, "text", q.SQL); r.err != nil {
						b.Fatal(r.err)
					}
					proxyTime += time.Since(start)
				}
				n++
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
			b.ReportMetric(0, "ns/op") // both sides' times are reported below
			b.ReportMetric(ms(refTime), "ref-ms/op")
			if refused == "" {
				b.ReportMetric(ms(proxyTime), "proxy-ms/op")
				b.ReportMetric(float64(proxyTime)/float64(refTime), "proxy/ref")
			}
			b.ReportMetric(float64(len(want.rows)), "rows")
		})
	}
}
