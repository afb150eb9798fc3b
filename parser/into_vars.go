package parser

import "strings"

// intoVarsClause finds MariaDB's INTO @a, @b clause of a SELECT (which
// TiDB's grammar lacks) by the statement's tokens as the server reads them
// in mode m: an INTO inside a string, a comment or a quoted name is text,
// not the clause (a regular expression over the text took
// `SELECT 'x INTO @a' … INTO @b` for INTO @a). start and end delimit the
// clause in sql; names are the variables, unquoted and in lower case (user
// variable names are case-insensitive). ok is false when there is none.
func intoVarsClause(sql string, m TextMode) (start, end int, names []string, ok bool) {
	state := lexNormal
	for i := 0; i < len(sql); {
		c := sql[i]
		switch state {
		case lexNormal:
			switch {
			case c == '\'':
				state = lexSingle
			case c == '"' && m.AnsiQuotes:
				state = lexAnsiName
			case c == '"':
				state = lexDouble
			case c == '`':
				state = lexBacktick
			case startsComment(sql, i):
				if j := skipComment(sql, i); j > i {
					i = j
					continue
				}
				// An executable comment's body is read as SQL.
				if sql[i+2] == 'M' {
					i += 4
				} else {
					i += 3
				}
				continue
			case isIdentByte(c) || c >= 0x80:
				j := i
				for j < len(sql) && (isIdentByte(sql[j]) || sql[j] >= 0x80) {
					j++
				}
				if j-i == 4 && strings.EqualFold(sql[i:j], "INTO") && (i == 0 || sql[i-1] != '@' && sql[i-1] != '.') {
					if e, vars, found := intoVarList(sql, j, m); found {
						return i, e, vars, true
					}
				}
				i = j
				continue
			}
		case lexSingle, lexDouble:
			quote := byte('\'')
			if state == lexDouble {
				quote = '"'
			}
			switch {
			case c == '\\' && !m.NoBackslashEscapes:
				i += 2
				continue
			case c == quote:
				if i+1 < len(sql) && sql[i+1] == quote {
					i += 2
					continue
				}
				state = lexNormal
			}
		case lexBacktick:
			if c == '`' {
				state = lexNormal
			}
		case lexAnsiName:
			if c == '"' {
				state = lexNormal
			}
		}
		i++
	}
	return 0, 0, nil, false
}

// startsComment: a comment (/* */, #, "-- ") starts at sql[i].
func startsComment(sql string, i int) bool {
	switch {
	case sql[i] == '#':
		return true
	case sql[i] == '-' && i+2 < len(sql) && sql[i+1] == '-' && strings.IndexByte(" \t\n\r", sql[i+2]) >= 0:
		return true
	}
	return sql[i] == '/' && i+1 < len(sql) && sql[i+1] == '*'
}

// skipComment is the offset after the comment starting at sql[i], or i
// for an executable comment (/*! … */, /*M! … */), whose body is SQL.
func skipComment(sql string, i int) int {
	if sql[i] == '/' {
		if i+2 < len(sql) && (sql[i+2] == '!' || sql[i+2] == 'M' && i+3 < len(sql) && sql[i+3] == '!') {
			return i
		}
		if e := strings.Index(sql[i+2:], "*/"); e >= 0 {
			return i + 2 + e + 2
		}
		return len(sql)
	}
	if e := strings.IndexByte(sql[i:], '\n'); e >= 0 {
		return i + e + 1
	}
	return len(sql)
}

// skipSpace skips blanks and comments (not executable ones) from i.
func skipSpace(sql string, i int) int {
	for i < len(sql) {
		switch {
		case strings.IndexByte(" \t\n\r\f\v", sql[i]) >= 0:
			i++
		case startsComment(sql, i):
			j := skipComment(sql, i)
			if j == i {
				return i
			}
			i = j
		default:
			return i
		}
	}
	return i
}

// intoVarList reads "@a, @`b`, @'c'" after INTO (at i): the offset after
// the list and the names. found is false when what follows INTO is not a
// user variable (INTO OUTFILE, INSERT INTO t, a system variable).
func intoVarList(sql string, i int, m TextMode) (end int, names []string, found bool) {
	for {
		i = skipSpace(sql, i)
		if i >= len(sql) || sql[i] != '@' || i+1 < len(sql) && sql[i+1] == '@' {
			return 0, nil, false
		}
		name, next, ok := userVarName(sql, i+1, m)
		if !ok {
			return 0, nil, false
		}
		names = append(names, strings.ToLower(name))
		end = next
		j := skipSpace(sql, next)
		if j >= len(sql) || sql[j] != ',' {
			return end, names, true
		}
		i = j + 1
	}
}

// userVarName reads a user variable's name at sql[i] (after the @): a
// quoted name (`…`, '…', "…", the quote doubled inside) or a run of name
// bytes.
func userVarName(sql string, i int, m TextMode) (name string, next int, ok bool) {
	if i >= len(sql) {
		return "", 0, false
	}
	if q := sql[i]; q == '`' || q == '\'' || q == '"' {
		var b strings.Builder
		for j := i + 1; j < len(sql); j++ {
			c := sql[j]
			if c == '\\' && q != '`' && !m.NoBackslashEscapes && !(q == '"' && m.AnsiQuotes) && j+1 < len(sql) {
				j++
				b.WriteByte(sql[j])
				continue
			}
			if c == q {
				if j+1 < len(sql) && sql[j+1] == q {
					b.WriteByte(q)
					j++
					continue
				}
				return b.String(), j + 1, b.Len() > 0
			}
			b.WriteByte(c)
		}
		return "", 0, false
	}
	j := i
	for j < len(sql) && (isIdentByte(sql[j]) || sql[j] == '.' || sql[j] >= 0x80) {
		j++
	}
	return sql[i:j], j, j > i
}
