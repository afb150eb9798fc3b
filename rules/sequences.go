package rules

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Bounds of a table's sequence: block sizes beyond MaxSequenceCache would
// let one restart skip more values than anyone expects, and values past
// MaxSequenceValue would not fit a signed BIGINT once a block is added.
const (
	MaxSequenceCache = 1_000_000
	MaxSequenceValue = 1<<62 - 1
)

func validateSequence(where string, t *Table, q *SequenceRule) error {
	if t.Shard == nil {
		// A table on one cluster has its server's AUTO_INCREMENT.
		return lineError(q.line, "%s: sequence applies to sharded tables only (a table on one cluster keeps its AUTO_INCREMENT)", where)
	}
	if q.Column == "" {
		return lineError(q.line, "%s: sequence: column is required", where)
	}
	if !plainName(q.Column) {
		return lineError(q.line, "%s: sequence: column %q: use letters, digits, _ and $ (at most 64)", where, q.Column)
	}
	if t.Shard.By == "hour" && strings.EqualFold(q.Column, t.Shard.Column) {
		return lineError(q.line, "%s: sequence: column %s is the hour column; a sequence gives integers", where, q.Column)
	}
	if q.Start < 1 || q.Start > MaxSequenceValue {
		return lineError(q.line, "%s: sequence: start %d: must be between 1 and %d", where, q.Start, int64(MaxSequenceValue))
	}
	if q.Cache < 1 || q.Cache > MaxSequenceCache {
		return lineError(q.line, "%s: sequence: cache %d: must be between 1 and %d", where, q.Cache, MaxSequenceCache)
	}
	return nil
}

func (r *Rules) validateSequences(doc *yaml.Node) error {
	q := r.Sequences
	line := func(key string) int { return pathLine(doc, "sequences", key) }
	if r.Clusters[q.Cluster] == nil {
		return lineError(line("cluster"), "sequences: cluster %q: unknown cluster", q.Cluster)
	}
	if !plainName(q.Schema) {
		return lineError(line("schema"), "sequences: schema %q: use letters, digits, _ and $ (at most 64)", q.Schema)
	}
	return nil
}
