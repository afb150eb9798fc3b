package rules

import (
	"strings"
	"testing"
	"time"
)

// TestTransactionsRules: the per-schema mode and the top-level
// transactions block have defaults, and every wrong value is refused with
// its line.
func TestTransactionsRules(t *testing.T) {
	r, err := Parse("rules.yaml", []byte(base+"schemas:\n  shop: {cluster: main}\n  two: {cluster: main, transactions: single}\n  three: {cluster: main, transactions: best_effort}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{r.Schemas["shop"].Transactions, r.Schemas["two"].Transactions, r.Schemas["three"].Transactions}; got[0] != TxnXA || got[1] != TxnSingle || got[2] != TxnBestEffort {
		t.Fatalf("modes %v", got)
	}
	tx := r.Transactions
	if tx.LogCluster != "main" || tx.LogSchema != "shardgate" || tx.Instance != "" || tx.RecoveryInterval != 5*time.Second || tx.AbortAfter != 30*time.Second || tx.LockWaitTimeout != 5*time.Second {
		t.Fatalf("defaults: %+v", tx)
	}
	r, err = Parse("rules.yaml", []byte(base+"schemas: {shop: {cluster: main}}\ntransactions: {log_cluster: main, log_schema: txn_log, instance: a-1, recovery_interval: 200ms, abort_after: 2s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tx := r.Transactions; tx.LogSchema != "txn_log" || tx.Instance != "a-1" || tx.RecoveryInterval != 200*time.Millisecond || tx.AbortAfter != 2*time.Second {
		t.Fatalf("given values: %+v", tx)
	}

	schemas := "schemas: {shop: {cluster: main}}\n"
	cases := []struct{ name, yaml, want string }{
		{"bad mode", base + "schemas:\n  shop: {cluster: main, transactions: twophase}\n", "rules.yaml:8: schema shop: transactions \"twophase\": use xa, best_effort or single"},
		{"unknown key", base + schemas + "transactions:\n  log_table: x\n", "rules.yaml:9: unknown key \"log_table\""},
		{"unknown log cluster", base + schemas + "transactions:\n  log_cluster: nope\n", "rules.yaml:9: transactions: log_cluster \"nope\": unknown cluster"},
		{"log schema needs quoting", base + schemas + "transactions:\n  log_schema: my-log\n", "rules.yaml:9: transactions: log_schema \"my-log\""},
		{"long instance", base + schemas + "transactions:\n  instance: " + strings.Repeat("x", 101) + "\n", "rules.yaml:9: transactions: instance: at most 100 bytes"},
		{"tiny interval", base + schemas + "transactions:\n  recovery_interval: 1ms\n", "rules.yaml:9: transactions: recovery_interval 1ms: must be at least 10ms"},
		{"negative abort_after", base + schemas + "transactions:\n  abort_after: -1s\n", "rules.yaml:9: transactions: abort_after -1s: must be positive"},
		{"sub-second lock_wait_timeout", base + schemas + "transactions:\n  lock_wait_timeout: 500ms\n", "rules.yaml:9: transactions: lock_wait_timeout 500ms: must be between 1s and 1h"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("rules.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}
