package engine

// Filter keeps the rows for which Expr is true (HAVING on merged groups).
type Filter struct {
	Input  RowSource
	Expr   Expr
	Hidden int
	// Text is the condition as written, for EXPLAIN.
	Text string
}

func (f *Filter) Inputs() []Primitive                     { return []Primitive{f.Input} }
func (f *Filter) Describe() string                        { return "Filter " + f.Text }
func (f *Filter) mergeSummary() string                    { return "having " + f.Text }
func (f *Filter) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, f) }

func (f *Filter) Open(vc Cursor) (Rows, error) {
	in, env, err := openWithEnv(vc, f.Input, f.Hidden)
	if err != nil {
		return nil, err
	}
	return &filterRows{Rows: in, f: f, env: env}, nil
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
		if t, ok := fr.f.Expr.eval(r, fr.env).truth(); ok && t {
			return r, nil
		}
	}
}

// openWithEnv opens an input and describes its columns for evaluation.
func openWithEnv(vc Cursor, src RowSource, hidden int) (Rows, *evalEnv, error) {
	in, err := src.Open(vc)
	if err != nil {
		return nil, nil, err
	}
	header, err := in.Header()
	if err != nil {
		in.Close(err)
		return nil, nil, err
	}
	cols, err := columnsOf(header)
	if err != nil {
		in.Close(err)
		return nil, nil, err
	}
	return in, &evalEnv{kinds: kindsOf(cols), base: len(cols) - hidden}, nil
}
