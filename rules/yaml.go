package rules

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Strict YAML decoding: unknown keys are errors at every level.

// decodeStrict decodes a mapping node into v, refusing keys that are not
// v's yaml tags (or in extra) so that a typo never silently becomes a
// default. The tags are the one list of keys: a field added to a struct is
// accepted in the file without a second list to keep in step.
func decodeStrict(n *yaml.Node, v any, extra ...string) error {
	if n.Kind != yaml.MappingNode {
		return lineError(n.Line, "expected a mapping")
	}
	allowed := append(yamlKeys(v), extra...)
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

// yamlKeys lists the keys a struct (v points to one) takes from YAML.
func yamlKeys(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" && opts == "inline" {
			// An inlined struct's keys are the outer one's.
			keys = append(keys, yamlKeys(reflect.New(t.Field(i).Type).Interface())...)
			continue
		}
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
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
	return decodeStrict(n, (*plain)(u))
}

func (c *Cluster) UnmarshalYAML(n *yaml.Node) error {
	type plain Cluster
	c.line = n.Line
	return decodeStrict(n, (*plain)(c))
}

func (r *Replica) UnmarshalYAML(n *yaml.Node) error {
	r.line = n.Line
	if n.Kind == yaml.ScalarNode {
		r.Addr = n.Value
		return nil
	}
	type plain Replica
	return decodeStrict(n, (*plain)(r))
}

func (s *Schema) UnmarshalYAML(n *yaml.Node) error {
	type plain Schema
	s.line = n.Line
	return decodeStrict(n, (*plain)(s))
}

func (t *Table) UnmarshalYAML(n *yaml.Node) error {
	type plain Table
	t.line = n.Line
	return decodeStrict(n, (*plain)(t))
}

func (b *BucketWindow) UnmarshalYAML(n *yaml.Node) error {
	type plain BucketWindow
	b.line = n.Line
	if err := decodeStrict(n, (*plain)(b)); err != nil {
		return err
	}
	b.hasPast, b.hasFuture = valueOf(n, "past") != nil, valueOf(n, "future") != nil
	return nil
}

func (s *ShardRule) UnmarshalYAML(n *yaml.Node) error {
	type plain ShardRule
	s.line = n.Line
	return decodeStrict(n, (*plain)(s))
}

func (p *Pool) UnmarshalYAML(n *yaml.Node) error {
	type plain Pool
	return decodeStrict(n, (*plain)(p))
}

func (b *Backend) UnmarshalYAML(n *yaml.Node) error {
	type plain Backend
	return decodeStrict(n, (*plain)(b))
}

func (t *Transactions) UnmarshalYAML(n *yaml.Node) error {
	type plain Transactions
	t.line = n.Line
	return decodeStrict(n, (*plain)(t))
}

func (s *Sequences) UnmarshalYAML(n *yaml.Node) error {
	type plain Sequences
	s.line = n.Line
	return decodeStrict(n, (*plain)(s))
}

func (s *SlowLog) UnmarshalYAML(n *yaml.Node) error {
	type plain SlowLog
	s.line = n.Line
	return decodeStrict(n, (*plain)(s))
}

func (q *SequenceRule) UnmarshalYAML(n *yaml.Node) error {
	type plain SequenceRule
	q.line = n.Line
	return decodeStrict(n, (*plain)(q))
}
