package engine

import (
	"strings"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// ShowCreate answers SHOW CREATE TABLE (or SHOW INDEX) of a sharded table: its first
// physical table's definition, with the logical name.
type ShowCreate struct {
	Input *Route
}

func (s *ShowCreate) Inputs() []Primitive { return []Primitive{s.Input} }
func (s *ShowCreate) Describe() string    { return "ShowCreate (logical names)" }

func (s *ShowCreate) Execute(vc Cursor, w ResultWriter) error {
	r := s.Input
	var c Conn
	var res *backend.Result
	var err error
	for attempt := 0; ; attempt++ {
		if c, err = vc.Conn(r.Cluster, r.Replica); err != nil {
			return err
		}
		res, _, err = c.Query(r.SQL)
		if Classify(err) != FaultBroken {
			break
		}
		// The answer is read whole before the client sees any of it.
		if !r.Replica || !vc.Retry(c, attempt) {
			return vc.Lost(c, err)
		}
	}
	if err != nil {
		vc.Release(c, nil, nil)
		return err
	}
	vc.Succeeded(wire.OK{})
	vc.Release(c, nil, nil)
	rows := make([][][]byte, len(res.Rows))
	for i, row := range res.Rows {
		rows[i] = make([][]byte, len(row))
		for j, v := range row {
			if v == nil {
				continue
			}
			text := *v
			for phys, logical := range r.Logical {
				text = strings.Replace(text, "`"+phys+"`", "`"+logical+"`", 1)
				if text == phys {
					text = logical
				}
			}
			rows[i][j] = []byte(text)
		}
	}
	return WriteTable(w, res.Columns, rows, vc.Status())
}
