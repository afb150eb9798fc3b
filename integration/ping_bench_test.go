package integration

import (
	"testing"
	"time"

	"github.com/shardgate/shardgate/backend"
)

// BenchmarkPrimaryPingCost measures, against the real primary, what the
// ping before a primary connection idle for over backend.DefaultPrimaryPingAfter
// adds to a write: one-row INSERTs on a pooled connection, each pinged
// first (PingAfter 1ns: every connection counts as idle) or not, in
// alternating blocks so that both see the same machine load. It reports
// µs per INSERT of each and their ratio; the backend package's
// BenchmarkPrimaryPing is the same against a loopback fake server.
//
//	go test ./integration -run '^$' -bench PrimaryPingCost -benchtime 1x
func BenchmarkPrimaryPingCost(b *testing.B) {
	d := direct(b, mainPrimary, "shop")
	freshTable(b, d, "ping_cost", "(id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
	pool := func(pingAfter time.Duration) *backend.Pool {
		p := backend.NewPool(mainPrimary, backend.PoolConfig{MaxOpen: 1, MaxIdle: 1, WaitTimeout: time.Minute, PingAfter: pingAfter,
			Dial: backend.DialConfig{User: "app", Password: "app", ConnectTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second}})
		b.Cleanup(p.Close)
		return p
	}
	plain, pinged := pool(0), pool(time.Nanosecond)
	insert := func(p *backend.Pool, n int) time.Duration {
		start := time.Now()
		for i := 0; i < n; i++ {
			c, err := p.Get(false, 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.UseDB("shop"); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Exec("INSERT INTO ping_cost (v) VALUES (1)"); err != nil {
				b.Fatal(err)
			}
			p.Put(c)
		}
		return time.Since(start)
	}
	insert(plain, 50) // dial and warm up outside the measurement
	insert(pinged, 50)
	const rounds, block = 10, 200
	var tPlain, tPinged time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			tPlain += insert(plain, block)
			tPinged += insert(pinged, block)
		}
	}
	n := float64(b.N * rounds * block)
	noPing, ping := float64(tPlain.Microseconds())/n, float64(tPinged.Microseconds())/n
	b.ReportMetric(noPing, "no-ping-µs/insert")
	b.ReportMetric(ping, "ping-µs/insert")
	b.ReportMetric(ping/noPing, "ratio")
	b.Logf("INSERT on a pooled primary connection: %.0f µs without the ping, %.0f µs with it (ratio %.2f)", noPing, ping, ping/noPing)
}
