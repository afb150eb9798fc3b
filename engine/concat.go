package engine

import "errors"

// Concat returns the rows of every input, input after input, under the
// first input's column definitions. At most ScatterConcurrency inputs run
// at once (one at a time inside a transaction, where all share the
// session's connection). Any input failing fails the statement: the client
// gets the error, never a short result.
type Concat struct {
	Routes []*Route
}

func (c *Concat) Inputs() []Primitive { return routePrimitives(c.Routes) }

func (c *Concat) Describe() string     { return "Concat" }
func (c *Concat) mergeSummary() string { return "concat rows" }

func (c *Concat) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, c) }

func (c *Concat) Open(vc Cursor) (Rows, error) {
	width := 1
	if !vc.Sequential() {
		width = max(1, vc.ScatterConcurrency())
	}
	cr := &concatRows{vc: vc, routes: c.Routes, width: width}
	if err := cr.fill(); err != nil {
		cr.Close(err)
		return nil, err
	}
	return cr, nil
}

// concatRows keeps up to width inputs open: the one being read and the
// next ones, already sent, so their servers work meanwhile.
type concatRows struct {
	vc     Cursor
	routes []*Route
	width  int
	next   int          // next route to open
	open   []*routeRows // open inputs, the first is being read
	header [][]byte
}

func (cr *concatRows) fill() error {
	for len(cr.open) < cr.width && cr.next < len(cr.routes) {
		rr, err := cr.routes[cr.next].open(cr.vc, cr.next)
		if err != nil {
			return err
		}
		cr.open = append(cr.open, rr)
		cr.next++
	}
	return nil
}

func (cr *concatRows) Header() ([][]byte, error) {
	if cr.header != nil {
		return cr.header, nil
	}
	if len(cr.open) == 0 {
		return nil, errors.New("no inputs")
	}
	h, err := cr.open[0].Header()
	if err != nil {
		return nil, err
	}
	cr.header = h
	return h, nil
}

func (cr *concatRows) Next() (*Row, error) {
	if _, err := cr.Header(); err != nil {
		return nil, err
	}
	for len(cr.open) > 0 {
		r, err := cr.open[0].Next()
		if err != nil || r != nil {
			return r, err
		}
		cr.open[0].Close(nil)
		cr.open = cr.open[1:]
		if err := cr.fill(); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (cr *concatRows) Close(err error) {
	for _, rr := range cr.open {
		rr.Close(err)
	}
	cr.open = nil
}
