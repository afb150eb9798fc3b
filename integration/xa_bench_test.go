package integration

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkTransfers (make bench): transfer transactions per second — two
// UPDATEs in an explicit transaction — through the proxy with each
// schema's transactions mode, and the same transfers on one server (ref,
// holding every account, local transactions). Cross-shard transfers take
// one account on s0 and one on s1 (xa: two-phase commit; best_effort: two
// local commits one after another); one-cluster transfers take both on s0
// (xa: XA COMMIT … ONE PHASE; best_effort and single: a local COMMIT), the
// figure docs/transactions.md quotes for keeping one-cluster transactions
// in XA. BENCH_SECONDS sets each run's length (default 5), with 8 clients.
func BenchmarkTransfers(b *testing.B) {
	secs := time.Duration(envInt(b, "BENCH_SECONDS", 5, 1)) * time.Second
	db := uniqueName("txn_xabench")
	for _, addr := range []string{primaries["main"], primaries["s0"], primaries["s1"], refServer} {
		root := direct(b, addr, "")
		if _, err := root.Exec("CREATE DATABASE " + db); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { direct(b, addr, "").Exec("DROP DATABASE IF EXISTS " + db) })
	}
	// accounts_0 on s0 holds ids 0-99, accounts_1 on s1 ids 100-199 (the
	// rule's hash decides where the proxy looks; the tables are filled
	// accordingly below).
	for i, cluster := range []string{"s0", "s1"} {
		freshTable(b, direct(b, primaries[cluster], db), fmt.Sprintf("accounts_%d", i), "(id INT PRIMARY KEY, balance BIGINT NOT NULL)")
	}
	freshTable(b, direct(b, refServer, db), "accounts", "(id INT PRIMARY KEY, balance BIGINT NOT NULL)")
	rulesFor := func(mode string) string {
		return fmt.Sprintf(`
users: [{name: app, password: app}]
backend: {user: app, password: app}
clusters:
  main: {primary: 127.0.0.1:3310, replicas: [127.0.0.1:3311, 127.0.0.1:3312]}
  s0: {primary: 127.0.0.1:3320, replicas: [127.0.0.1:3321]}
  s1: {primary: 127.0.0.1:3330, replicas: [127.0.0.1:3331]}
schemas:
  %s:
    cluster: main
    transactions: %s
    tables:
      accounts:
        shard: {by: hash, column: id, tables: 2, clusters: [s0, s1]}
transactions: {log_schema: %s}
`, db, mode, testLogSchema)
	}
	xaProxy := startProxyRules(b, rulesFor("xa"))
	// Place 200 accounts by the rule and remember which cluster has each.
	seed := xaProxy.open(b, db)
	var on = map[string][]int{}
	for id := 0; len(on["s0"]) < 100 || len(on["s1"]) < 100; id++ {
		if _, err := seed.Exec(fmt.Sprintf("INSERT INTO accounts (id, balance) VALUES (%d, 1000000)", id)); err != nil {
			b.Fatal(err)
		}
		if _, err := direct(b, refServer, db).Exec(fmt.Sprintf("INSERT INTO accounts VALUES (%d, 1000000)", id)); err != nil {
			b.Fatal(err)
		}
		for i, cluster := range []string{"s0", "s1"} {
			var n int
			scan(b, direct(b, primaries[cluster], db), fmt.Sprintf("SELECT COUNT(*) FROM accounts_%d WHERE id = %d", i, id), &n)
			if n == 1 {
				on[cluster] = append(on[cluster], id)
			}
		}
	}
	dsn := func(p *proxy) string { return p.dsn(db, "innodb_lock_wait_timeout=5") }
	oneServer := "app:app@tcp(" + refServer + ")/" + db + "?innodb_lock_wait_timeout=5"
	bestEffort := startProxyRules(b, rulesFor("best_effort"))
	single := startProxyRules(b, rulesFor("single"))
	runs := []struct {
		name  string
		dsn   string
		cross bool
	}{
		{"cross-shard/xa", dsn(xaProxy), true},
		{"cross-shard/best_effort", dsn(bestEffort), true},
		{"cross-shard/one_server", oneServer, true},
		{"one-cluster/xa_one_phase", dsn(xaProxy), false},
		{"one-cluster/single_local", dsn(single), false},
		{"one-cluster/one_server", oneServer, false},
	}
	for _, r := range runs {
		b.Run(r.name, func(b *testing.B) {
			tps, failed := transferLoad(b, r.dsn, on["s0"], on["s1"], r.cross, 8, secs)
			b.ReportMetric(tps, "transfers/s")
			b.ReportMetric(float64(failed), "failed")
		})
	}
}

// transferLoad runs clients doing transfers for d and returns the
// committed transfers per second and the number that failed. Cross:
// between an account of a and one of b (a's first, the same lock order in
// every transaction: no deadlock across servers); else within a.
func transferLoad(b *testing.B, dsn string, a, other []int, cross bool, clients int, d time.Duration) (float64, int64) {
	db := openDSN(b, dsn)
	db.SetMaxOpenConns(clients)
	db.SetMaxIdleConns(clients)
	var done, failed atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for ctx.Err() == nil {
				first, second := a[rng.IntN(len(a))], a[rng.IntN(len(a))]
				if cross {
					second = other[rng.IntN(len(other))]
				} else if first > second {
					first, second = second, first
				}
				if first == second {
					continue
				}
				amount := rng.IntN(21) - 10
				if err := benchTransfer(db, first, second, amount); err != nil {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		}(c)
	}
	wg.Wait()
	return float64(done.Load()) / d.Seconds(), failed.Load()
}

func benchTransfer(db *sql.DB, first, second, amount int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	if _, err := tx.Exec(fmt.Sprintf("UPDATE accounts SET balance = balance - %d WHERE id = %d", amount, first)); err != nil {
		tx.Rollback()
		return err
	}
	if _, err := tx.Exec(fmt.Sprintf("UPDATE accounts SET balance = balance + %d WHERE id = %d", amount, second)); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
