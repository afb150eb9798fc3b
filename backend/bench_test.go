package backend

import (
	"runtime"
	"testing"
	"time"

	"github.com/shardgate/shardgate/backend/backendtest"
)

// BenchmarkPoolGetPut is the pool's own cost per statement: borrowing an
// idle connection and giving it back, no I/O. The list of borrowed
// connections Cut needs is linked and unlinked inside these two calls'
// critical sections; to see its cost, run this benchmark here and on the
// commit before it (the file only uses what existed there), e.g.
//
//	go test -run '^$' -bench PoolGetPut -count 10 ./backend
//
// at both and compare.
func BenchmarkPoolGetPut(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		p := NewPool("127.0.0.1:1", PoolConfig{MaxOpen: 1, MaxIdle: 1})
		c, _ := pipeConn(b)
		p.idle, p.open = []*Conn{c}, 1
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c, err := p.Get(false, 0)
			if err != nil {
				b.Fatal(err)
			}
			p.Put(c)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		n := 4 * runtime.GOMAXPROCS(0)
		p := NewPool("127.0.0.1:1", PoolConfig{MaxOpen: n, MaxIdle: n, WaitTimeout: time.Minute})
		for i := 0; i < n; i++ {
			c, _ := pipeConn(b)
			p.idle = append(p.idle, c)
		}
		p.open = n
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c, err := p.Get(false, 0)
				if err != nil {
					b.Error(err)
					return
				}
				p.Put(c)
			}
		})
	})
}

// BenchmarkPrimaryPing measures what the ping before a primary's
// connection idle for over DefaultPrimaryPingAfter costs a statement, side by
// side with the same statement on a connection used within the second:
// borrow, one statement (one round trip to a loopback server answering
// OK), give back. Each op of "ping" pings first (PingAfter is 1ns, so
// every connection counts as idle). The ratio ping/no-ping is what a
// write pays on a connection that sat idle; a busy pool reuses
// connections within milliseconds and never pings.
func BenchmarkPrimaryPing(b *testing.B) {
	srv := backendtest.Start(b, nil)
	for _, c := range []struct {
		name      string
		pingAfter time.Duration
	}{
		{"no-ping", 0},
		{"ping", time.Nanosecond},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := NewPool(srv.Addr(), PoolConfig{MaxOpen: 1, MaxIdle: 1, WaitTimeout: time.Minute, PingAfter: c.pingAfter,
				Dial: DialConfig{ConnectTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second}})
			defer p.Close()
			conn, err := p.Get(false, 0) // dial outside the timing
			if err != nil {
				b.Fatal(err)
			}
			p.Put(conn)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				conn, err := p.Get(false, 0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := conn.Exec("INSERT INTO t VALUES (1)"); err != nil {
					b.Fatal(err)
				}
				p.Put(conn)
			}
		})
	}
}
