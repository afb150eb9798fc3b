package parser

import (
	"strings"

	tidb "github.com/pingcap/tidb/pkg/parser"
)

// Fingerprint is a statement's text with its literals replaced by ? (a list
// of values by "..."), comments dropped, keywords and identifiers in lower
// case and spaces normalised, by the TiDB parser's own normaliser: the
// statements an application sends with different values share one
// fingerprint. Operators' switches (SHARDGATE BLOCK) match it; a statement
// the lexer cannot read is its own text, trimmed and lower-cased.
func Fingerprint(sql string) string {
	fp := strings.TrimSpace(tidb.Normalize(sql, "ON"))
	if fp == "" {
		return strings.ToLower(strings.TrimSpace(sql))
	}
	return fp
}
