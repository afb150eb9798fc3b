package engine

// Filter keeps the rows for which Expr is true (HAVING on merged groups).
type Filter struct {
	Input  RowSource
	Expr   Expr
	Hidden int
	// Text is the condition as written, for EXPLAIN.
	Text string
	// Joined: a WHERE checked on rows joined in the proxy (not a HAVING).
	Joined bool
}

func (f *Filter) Inputs() []Primitive { return []Primitive{f.Input} }
func (f *Filter) Describe() string    { return "Filter " + f.Text }
func (f *Filter) mergeSummary() string {
	if f.Joined {
		return "where " + f.Text + " on the joined rows"
	}
	return "having " + f.Text
}
func (f *Filter) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, f) }

func (f *Filter) Open(vc Cursor) (Rows, error) {
	in, err := openInput(vc, f.Input)
	if err != nil {
		return nil, err
	}
	return &filterRows{Rows: in, f: f, env: in.env(f.Hidden)}, nil
}

type filterRows struct {
	Rows
	f   *Filter
	env *evalEnv
}

func (fr *filterRows) Next() (*Row, error) {
	for {
		r, err := fr.Rows.Next()
		if err != nil || r == nil {
			return r, err
		}
		if err := r.values(len(fr.env.kinds)); err != nil {
			return nil, err
		}
		v := fr.f.Expr.eval(r, fr.env)
		if v.bad != nil {
			return nil, v.bad
		}
		if t, ok := v.truth(); ok && t {
			return r, nil
		}
	}
}
