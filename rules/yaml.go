package rules

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Strict YAML decoding: unknown keys are errors at every level.

// decodeStrict decodes a mapping node into v, refusing keys that are not in
// allowed so that a typo never silently becomes a default.
func decodeStrict(n *yaml.Node, v any, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return lineError(n.Line, "expected a mapping")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for _, a := range allowed {
			if k.Value == a {
				ok = true
				break
			}
		}
		if !ok {
			return lineError(k.Line, "unknown key %q (known: %s)", k.Value, strings.Join(allowed, ", "))
		}
	}
	if err := n.Decode(v); err != nil {
		var pe *posError
		var te *yaml.TypeError
		switch {
		case errors.As(err, &pe):
			return pe
		case errors.As(err, &te) && len(te.Errors) > 0:
			// yaml.v3 words these "line N: what"; keep one format for all.
			var line int
			msg := te.Errors[0]
			if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
				return lineError(line, "%s", strings.TrimSpace(msg[strings.Index(msg, ":")+1:]))
			}
			return lineError(n.Line, "%s", msg)
		}
		return lineError(n.Line, "%v", err)
	}
	return nil
}

func mappingKeys(doc *yaml.Node, key string) []string {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == key && doc.Content[i+1].Kind == yaml.MappingNode {
			var keys []string
			m := doc.Content[i+1]
			for j := 0; j < len(m.Content); j += 2 {
				keys = append(keys, m.Content[j].Value)
			}
			return keys
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The UnmarshalYAML methods record line numbers for validation messages and
// refuse unknown keys at every level.

func (u *User) UnmarshalYAML(n *yaml.Node) error {
	type plain User
	u.line = n.Line
	u.recordLines(n)
	return decodeStrict(n, (*plain)(u), "name", "password", "schemas", "read_only", "hosts", "max_connections", "admin", "system_schemas")
}

func (c *Cluster) UnmarshalYAML(n *yaml.Node) error {
	type plain Cluster
	c.line = n.Line
	return decodeStrict(n, (*plain)(c), "primary", "replicas")
}

func (r *Replica) UnmarshalYAML(n *yaml.Node) error {
	r.line = n.Line
	if n.Kind == yaml.ScalarNode {
		r.Addr = n.Value
		return nil
	}
	type plain Replica
	return decodeStrict(n, (*plain)(r), "addr", "weight")
}

func (s *Schema) UnmarshalYAML(n *yaml.Node) error {
	type plain Schema
	s.line = n.Line
	return decodeStrict(n, (*plain)(s), "cluster", "tables", "consistency", "causal_timeout")
}

func (t *Table) UnmarshalYAML(n *yaml.Node) error {
	type plain Table
	t.line = n.Line
	return decodeStrict(n, (*plain)(t), "cluster", "global", "shard", "allow_full_table_writes")
}

func (s *ShardRule) UnmarshalYAML(n *yaml.Node) error {
	type plain ShardRule
	s.line = n.Line
	return decodeStrict(n, (*plain)(s), "by", "column", "tables", "clusters", "then")
}

func (p *Pool) UnmarshalYAML(n *yaml.Node) error {
	type plain Pool
	return decodeStrict(n, (*plain)(p), "max_open", "max_idle", "idle_timeout", "connect_timeout", "read_timeout", "wait_timeout")
}

func (b *Backend) UnmarshalYAML(n *yaml.Node) error {
	type plain Backend
	return decodeStrict(n, (*plain)(b), "user", "password")
}
