package router

import (
	"errors"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/charset"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// varRead names a session value and the expression that reads it back.
type varRead struct{ key, expr string }

func userVarRead(name string) varRead {
	return varRead{"@" + name, "@`" + strings.ReplaceAll(name, "`", "``") + "`"}
}

// set runs a SET statement on a backend, then reads the resulting values
// back and records them as literals. Replaying the client's expression on
// another connection would be wrong for relative values such as
// SET sql_mode = CONCAT(@@sql_mode, ',ANSI'); the server's answer is exact.
func (s *Session) set(st *parser.Statement, w ResultWriter) error {
	var reads []varRead
	for _, v := range st.Node.(*ast.SetStmt).Variables {
		name := strings.ToLower(v.Name)
		switch {
		case v.Name == ast.SetNames:
			reads = append(reads, varRead{"names", "CONCAT(QUOTE(@@character_set_client), ' COLLATE ', QUOTE(@@collation_connection))"})
		case v.Name == ast.SetCharset:
			for _, k := range []string{"character_set_client", "character_set_results", "collation_connection"} {
				reads = append(reads, varRead{k, "@@session." + k})
			}
		case v.IsGlobal || v.IsInstance:
			// Server-wide: runs on the primary, nothing to carry.
		case v.IsSystem:
			if name == "tx_isolation_one_shot" {
				return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET,
					"shardgate: SET TRANSACTION for the next transaction only is not supported; use SET SESSION TRANSACTION ...")
			}
			reads = append(reads, varRead{name, "@@session." + name})
		default:
			reads = append(reads, userVarRead(name))
		}
	}
	cluster, err := s.rt.clusterFor(st, s.db)
	if err != nil {
		return err
	}
	h, err := s.acquire(st, cluster)
	if err != nil {
		return err
	}
	h.backend.Writes.Add(1)
	ok, err := h.conn.Exec(st.SQL)
	if err == nil {
		err = s.captureVars(h.conn, reads)
	}
	if err != nil {
		var me *mysql.MyError
		if !errors.As(err, &me) {
			return s.fail(h, err)
		}
		s.settle(h)
		return err
	}
	s.status = ok.Status
	s.settle(h)
	return s.writeOK(w, wire.OK{Warnings: ok.Warnings})
}

// captureVars reads values back from the connection a statement just changed
// and records them in the session (and as the connection's known state).
func (s *Session) captureVars(c *backend.Conn, reads []varRead) error {
	if len(reads) == 0 {
		return nil
	}
	exprs := make([]string, len(reads))
	for i, r := range reads {
		exprs[i] = r.expr
	}
	res, _, err := c.Query("SELECT " + strings.Join(exprs, ", "))
	if err != nil {
		return err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != len(reads) {
		return errors.New("unexpected answer reading variables back")
	}
	changed := map[string]string{}
	for i, r := range reads {
		v := literal(res.Columns[i], res.Rows[0][i])
		if r.key == "names" {
			v = *res.Rows[0][i]
			for _, k := range []string{"character_set_client", "character_set_connection", "character_set_results", "collation_connection"} {
				delete(s.vars, k)
			}
		}
		changed[r.key] = v
	}
	for k, v := range changed {
		if k == "names" && v == backend.DefaultNames {
			delete(s.vars, k)
		} else {
			s.vars[k] = v
		}
	}
	c.NoteVars(changed)
	return nil
}

// showDatabases answers SHOW DATABASES with the logical schemas.
func (s *Session) showDatabases(show *ast.ShowStmt, w ResultWriter) error {
	title := "Database"
	var pattern string
	if show.Pattern != nil {
		if v, ok := show.Pattern.Pattern.(ast.ValueExpr); ok {
			pattern = v.GetString()
			title += " (" + pattern + ")"
		}
	}
	var rows [][][]byte
	for _, name := range s.rt.SchemaNames() {
		if show.Pattern == nil || likeMatch(strings.ToLower(pattern), strings.ToLower(name)) {
			rows = append(rows, [][]byte{[]byte(name)})
		}
	}
	cols := []wire.Column{{Schema: "information_schema", Table: "SCHEMATA", OrgTable: "SCHEMATA", Name: title, OrgName: "SCHEMA_NAME",
		Charset: 33, Length: 192, Type: mysql.MYSQL_TYPE_VAR_STRING, Flags: mysql.NOT_NULL_FLAG}}
	return s.writeRows(w, cols, rows)
}

// writeRows writes a text result the proxy built itself; a nil value is NULL.
func (s *Session) writeRows(w ResultWriter, cols []wire.Column, rows [][][]byte) error {
	var buf []byte
	write := func(p []byte) error {
		if err := w.WritePacket(p); err != nil {
			return &ClientGoneError{Err: err}
		}
		return nil
	}
	if err := write(mysql.AppendLengthEncodedInteger(nil, uint64(len(cols)))); err != nil {
		return err
	}
	for _, c := range cols {
		if err := write(wire.AppendColumn(buf[:0], c)); err != nil {
			return err
		}
	}
	if err := write(wire.AppendEOF(nil, 0, s.Status())); err != nil {
		return err
	}
	for _, row := range rows {
		buf = buf[:0]
		for _, v := range row {
			buf = wire.AppendTextValue(buf, v, v == nil)
		}
		if err := write(buf); err != nil {
			return err
		}
	}
	if err := write(wire.AppendEOF(nil, 0, s.Status())); err != nil {
		return err
	}
	return w.Flush()
}

// likeMatch implements SQL LIKE with % and _ (and backslash escapes).
func likeMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if likeMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '_':
		return s != "" && likeMatch(pattern[1:], s[1:])
	case '\\':
		if len(pattern) > 1 {
			return s != "" && s[0] == pattern[1] && likeMatch(pattern[2:], s[1:])
		}
	}
	return s != "" && s[0] == pattern[0] && likeMatch(pattern[1:], s[1:])
}

// namesForCollation turns the handshake's collation id into a SET NAMES value.
// Ids MariaDB does not know (MySQL 8's 255, utf8mb4_0900_ai_ci) fall back to
// their character set's default collation, as MariaDB itself does.
func namesForCollation(id uint8) string {
	if id == backend.DefaultCollationID || id == 0 {
		return backend.DefaultNames
	}
	coll, err := charset.GetCollationByID(int(id))
	if err != nil {
		return backend.DefaultNames
	}
	cs := coll.CharsetName
	if cs == "utf8" {
		cs = "utf8mb3"
	}
	if strings.Contains(coll.Name, "0900") {
		if cs == "utf8mb4" {
			return backend.DefaultNames
		}
		return "'" + cs + "'"
	}
	name := strings.Replace(coll.Name, "utf8_", "utf8mb3_", 1)
	return "'" + cs + "' COLLATE '" + name + "'"
}

func charsetOfCollation(id uint16) string {
	coll, err := charset.GetCollationByID(int(id))
	if err != nil {
		return ""
	}
	if coll.CharsetName == "utf8" {
		return "utf8mb3"
	}
	return coll.CharsetName
}
