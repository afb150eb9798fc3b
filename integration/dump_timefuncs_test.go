package integration

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// TestTimeFunctionsAsHour: an INSERT into an hourly table whose hour is a
// time function stores what ref's same expression gives under the same
// time_zone (read just before and just after), and the row lives in the
// bucket of its value: a read by that exact value, pruned to one bucket,
// finds it. Text and prepared statements, in and out of a transaction.
func TestTimeFunctionsAsHour(t *testing.T) {
	p := startProxyRules(t, dumpRules)
	for _, addr := range []string{"127.0.0.1:3310", "127.0.0.1:3320", "127.0.0.1:3330"} {
		dumpExec(t, direct(t, addr, ""), "CREATE DATABASE IF NOT EXISTS txn_dump")
	}
	viaProxy := p.open(t, "txn_dump")
	dumpExec(t, viaProxy, "DROP TABLE IF EXISTS payments", "CREATE TABLE payments (id BIGINT PRIMARY KEY, user_id INT NOT NULL, created_at DATETIME NOT NULL, amount DECIMAL(10,2))")
	ref := direct(t, refServer, "")
	exprs := []string{
		"NOW()", "CURRENT_TIMESTAMP()", "UTC_TIMESTAMP()", "NOW() + INTERVAL 1 HOUR", "NOW(6)",
		"CURRENT_TIMESTAMP(3)", "DATE_ADD(NOW(), INTERVAL 2 HOUR)", "DATE_SUB(CURRENT_TIMESTAMP, INTERVAL 90 MINUTE)",
	}
	id := 0
	for _, zone := range []string{"", "SYSTEM", "'+05:30'", "'-08:00'", "'+13:00'"} {
		for _, mode := range []string{"text", "prepared", "transaction"} {
			t.Run(fmt.Sprintf("zone=%s/%s", strings.Trim(zone, "'"), mode), func(t *testing.T) {
				c := pin(t, viaProxy)
				r := pin(t, ref)
				if zone != "" {
					dumpExec(t, c, "SET time_zone = "+zone)
					dumpExec(t, r, "SET time_zone = "+zone)
				}
				for _, expr := range exprs {
					id++
					var before, after string
					scan(t, r, "SELECT "+expr, &before)
					var err error
					insert := "INSERT INTO payments (id, user_id, created_at) VALUES (%s, %d, " + expr + ")"
					switch mode {
					case "text":
						_, err = c.ExecContext(context.Background(), fmt.Sprintf(insert, fmt.Sprint(id), id%5))
					case "prepared":
						var st *sql.Stmt
						if st, err = c.PrepareContext(context.Background(), fmt.Sprintf(insert, "?", id%5)); err == nil {
							_, err = st.Exec(id)
							st.Close()
						}
					case "transaction":
						dumpExec(t, c, "BEGIN")
						if _, err = c.ExecContext(context.Background(), fmt.Sprintf(insert, fmt.Sprint(id), id%5)); err == nil {
							_, err = c.ExecContext(context.Background(), "COMMIT")
						}
					}
					if err != nil {
						t.Fatalf("%s: %v", expr, err)
					}
					scan(t, r, "SELECT "+expr, &after)
					var stored string
					scan(t, c, fmt.Sprintf("SELECT created_at FROM payments WHERE id = %d", id), &stored)
					// DATETIME keeps whole seconds: MariaDB cuts the fraction.
					if stored < before[:19] || stored > after[:19] {
						t.Errorf("%s stored %s; ref gives %s before and %s after", expr, stored, before, after)
					}
					var n int
					scan(t, c, fmt.Sprintf("SELECT COUNT(*) FROM payments WHERE created_at = '%s' AND user_id = %d AND id = %d", stored, id%5, id), &n)
					if n != 1 {
						t.Errorf("%s: a read by its value (%s) finds %d rows: the row is not in its bucket", expr, stored, n)
					}
				}
			})
		}
	}
}
