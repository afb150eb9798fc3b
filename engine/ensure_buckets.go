package engine

import "fmt"

// EnsureBuckets creates the tables of the hourly buckets a write needs
// (LIKE the table's template) before its input runs.
type EnsureBuckets struct {
	Needs []BucketNeed
	Input Primitive
}

func (e *EnsureBuckets) Inputs() []Primitive { return []Primitive{e.Input} }

func (e *EnsureBuckets) Describe() string {
	var s string
	for i, n := range e.Needs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s.%s %s", n.Schema, n.Table.Name, n.Bucket)
	}
	return "EnsureBuckets " + s
}

// bucketBatcher creates several buckets at once (the session's cursor:
// one round trip per cluster, the clusters at once).
type bucketBatcher interface {
	EnsureBuckets(needs []BucketNeed) error
}

func (e *EnsureBuckets) Execute(vc Cursor, w ResultWriter) error {
	if b, ok := vc.(bucketBatcher); ok && len(e.Needs) > 1 {
		if err := b.EnsureBuckets(e.Needs); err != nil {
			return err
		}
		return e.Input.Execute(vc, w)
	}
	for _, n := range e.Needs {
		if err := vc.EnsureBucket(n); err != nil {
			return err
		}
	}
	return e.Input.Execute(vc, w)
}
