package router

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
)

// TestSwitchesOtherForms: statements that reach a switched schema or a
// blocked fingerprint other than by naming it: SQL-level PREPARE and
// EXECUTE (prepared before the switch, or from a variable), CALL of the
// schema's procedures, the current database's qualifier; and a BLOCK
// PREFIX of nothing, which would block every statement, refused.
func TestSwitchesOtherForms(t *testing.T) {
	rt, s, parse := switchSession(t)
	// Prepared while no switch was set: remembered all the same.
	for _, sql := range []string{"PREPARE early FROM 'UPDATE other.t SET a = 1'", "PREPARE fromvar FROM @q", "PREPARE gone FROM 'DELETE FROM other.t'", "DEALLOCATE PREPARE gone"} {
		st := parse(sql)
		if err := s.checkSwitches(st); err != nil {
			t.Fatal(err)
		}
		s.notePrepared(st)
	}
	rt.switches.add(Switch{Kind: SwitchReadOnly, Target: "other"})
	rt.switches.add(Switch{Kind: SwitchBlock, Target: parser.Fingerprint("DELETE FROM shop.logs WHERE id = 1")})
	for _, tc := range []struct {
		sql  string
		code uint16
		want string
	}{
		{"PREPARE s FROM 'INSERT INTO other.t VALUES (1)'", mysql.ER_OPTION_PREVENTS_STATEMENT, "database other is read_only by switch 1"},
		{"PREPARE s FROM 'SELECT * FROM other.t'", 0, ""},
		{"EXECUTE early", mysql.ER_OPTION_PREVENTS_STATEMENT, "read_only"},
		{"EXECUTE fromvar", mysql.ER_UNKNOWN_ERROR, "prepared statement fromvar was prepared from a variable"},
		{"EXECUTE gone", 0, ""}, // the server answers 1243
		{"CALL other.p()", mysql.ER_OPTION_PREVENTS_STATEMENT, "database other is read_only"},
		{"CALL p()", 0, ""},
		{"DELETE FROM logs WHERE id = 5", mysql.ER_UNKNOWN_ERROR, "blocked by switch 2"},
		{"DELETE FROM `shop`.`LOGS` WHERE id = 5", mysql.ER_UNKNOWN_ERROR, "blocked by switch 2"},
		{"PREPARE s FROM 'DELETE FROM logs WHERE id = 5'", mysql.ER_UNKNOWN_ERROR, "blocked by switch 2"},
		{"DELETE FROM other.logs WHERE id = 5", mysql.ER_OPTION_PREVENTS_STATEMENT, "read_only"},
		{"LOAD DATA LOCAL INFILE 'f' INTO TABLE other.t", mysql.ER_OPTION_PREVENTS_STATEMENT, "read_only"},
		{"WITH c AS (SELECT 1 AS id) UPDATE other.t JOIN c ON c.id = t.id SET t.a = 2", mysql.ER_OPTION_PREVENTS_STATEMENT, "read_only"},
		{"DELETE x FROM shop.a JOIN other.t x ON x.id = a.id", mysql.ER_OPTION_PREVENTS_STATEMENT, "read_only"},
		{"INSERT INTO other.t SELECT * FROM shop.a", mysql.ER_OPTION_PREVENTS_STATEMENT, "read_only"},
		{"REPLACE INTO `OTHER`.`t` VALUES (1)", mysql.ER_OPTION_PREVENTS_STATEMENT, "read_only"},
		{"SELECT * FROM other.t FOR UPDATE", 0, ""},
	} {
		err := s.checkSwitches(parse(tc.sql))
		var me *mysql.MyError
		switch {
		case tc.code == 0 && err != nil:
			t.Errorf("%s: %v", tc.sql, err)
		case tc.code != 0 && (!errors.As(err, &me) || me.Code != tc.code || !strings.Contains(me.Message, tc.want)):
			t.Errorf("%s: %v, want %d naming %q", tc.sql, err, tc.code, tc.want)
		}
	}
	// In another database, an unqualified logs is not shop's.
	s.state.db = "other"
	if err := s.checkSwitches(parse("SELECT * FROM shop.x")); err != nil {
		t.Fatal(err)
	}
	rt.switches.clear(0)
	s.state.db = "shop"
	for _, sql := range []string{"SHARDGATE BLOCK PREFIX ''", "SHARDGATE BLOCK '/* nothing */'"} {
		if err := s.Query(sql, discardWriter{}); err == nil {
			t.Errorf("%s: accepted", sql)
		}
	}
	if n := len(rt.Switches()); n != 0 {
		t.Errorf("%d switches set by empty blocks", n)
	}
	if err := s.checkSwitches(parse("SELECT 1")); err != nil {
		t.Fatal(err)
	}
}

// TestLimitReleasedOnPanic: a statement that panics (the server recovers
// and closes the connection) gives its max_statements slot back; before,
// each such panic kept one taken until the process restarted.
func TestLimitReleasedOnPanic(t *testing.T) {
	r, err := rules.Parse("r.yaml", []byte(`users: [{name: app, max_statements: 1}]
backend: {user: app}
clusters: {main: {primary: 127.0.0.1:1}}
schemas: {shop: {cluster: main}}
`))
	if err != nil {
		t.Fatal(err)
	}
	rt := New(r, nil)
	u, _ := r.User("app")
	for i := 0; i < 2; i++ {
		s := rt.NewSession("shop", 0, false)
		s.Identify(Client{User: "app", Host: "127.0.0.1", Account: u})
		func() {
			defer func() { recover() }()
			s.observe(nil, func(*observation) error { panic("a defect") })
		}()
	}
	s := rt.NewSession("shop", 0, false)
	s.Identify(Client{User: "app", Host: "127.0.0.1", Account: u})
	release, err := s.admit()
	if err != nil {
		t.Fatalf("after two panicking statements, max_statements 1: %v", err)
	}
	release()
}

// TestDrainDuringReload: a DRAIN BACKEND set while a reload replaces the
// pools holds on the pools that end up serving. The switch and the reload
// each marked the snapshot they saw; without ordering them, the reload
// could build its snapshot before the switch was listed and the switch
// mark the snapshot the reload was replacing, leaving the server in
// rotation with the switch shown as set.
func TestDrainDuringReload(t *testing.T) {
	yaml := func(pool int) *rules.Rules {
		r, err := rules.Parse("r.yaml", []byte(fmt.Sprintf(`users: [{name: app}]
backend: {user: app}
clusters: {main: {primary: 127.0.0.1:1}}
pool: {max_open: %d}
shutdown_timeout: 1ms
schemas: {shop: {cluster: main}}
`, pool)))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rt := New(yaml(10), nil)
	defer rt.Close()
	s := rt.NewSession("shop", 0, false)
	for i := 0; i < 300; i++ {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := s.Query("SHARDGATE DRAIN BACKEND '127.0.0.1:1'", discardWriter{}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := rt.Reload(yaml(11+i), "test"); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		if b := rt.Snapshot().Clusters["main"].Backends()[0]; b.Drain() == "" {
			t.Fatalf("round %d: the drain switch is set but the serving pool is not drained", i)
		}
		if err := s.Query("SHARDGATE CLEAR ALL", discardWriter{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadOnlyTableReadByAWrite: a table switched read_only may still be
// read by a statement that writes another table (INSERT … SELECT from it
// into an archive, a multi-table UPDATE that only reads it): the switch
// refuses writes to it, as the README's table says.
func TestReadOnlyTableReadByAWrite(t *testing.T) {
	rt, s, parse := switchSession(t)
	rt.switches.add(Switch{Kind: SwitchReadOnly, Target: "shop.frozen"})
	for _, sql := range []string{
		"INSERT INTO archive SELECT * FROM frozen",
		"UPDATE other o JOIN frozen f ON f.id = o.id SET o.c = f.c",
		"DELETE o FROM other o JOIN frozen f ON f.id = o.id",
	} {
		if err := s.checkSwitches(parse(sql)); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
	// Writes to it stay refused, however the statement names it, and when
	// the statement does not say which table a column is.
	for _, sql := range []string{
		"INSERT INTO frozen SELECT * FROM other",
		"REPLACE INTO shop.frozen VALUES (1)",
		"UPDATE frozen SET c = 1 WHERE id = 2",
		"UPDATE other o JOIN frozen f ON f.id = o.id SET f.c = o.c",
		"UPDATE other o JOIN frozen f ON f.id = o.id SET c = 1",
		"DELETE f FROM other o JOIN frozen f ON f.id = o.id",
		"DELETE FROM frozen WHERE id = 1",
		"ALTER TABLE frozen ADD COLUMN d INT",
	} {
		if err := s.checkSwitches(parse(sql)); err == nil {
			t.Errorf("%s: allowed on the read_only table", sql)
		}
	}
}
