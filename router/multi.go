package router

import (
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// moreResults sits between a statement of a multi-statement query and the
// client: it holds back the statement's last packet so that, when another
// statement follows, SERVER_MORE_RESULTS_EXISTS can be set in it.
type moreResults struct {
	w    ResultWriter
	held []byte
	have bool
}

func (m *moreResults) WritePacket(p []byte) error {
	if m.have {
		if err := m.w.WritePacket(m.held); err != nil {
			return err
		}
	}
	m.held = append(m.held[:0], p...)
	m.have = true
	return nil
}

// failed reports that the statement's answer ended with an ERR packet.
func (m *moreResults) failed() bool { return m.have && len(m.held) > 0 && m.held[0] == wire.HeaderERR }

// Flush waits: the held packet goes out in finish.
func (m *moreResults) Flush() error { return nil }

// finish sends the held packet, flagged when more results follow.
func (m *moreResults) finish(more bool) error {
	if !m.have {
		return nil
	}
	m.have = false
	p := m.held
	if more {
		setMoreResults(p)
	}
	if err := m.w.WritePacket(p); err != nil {
		return err
	}
	return m.w.Flush()
}

// setMoreResults sets the flag in an OK or EOF packet.
func setMoreResults(p []byte) {
	switch {
	case wire.IsEOF(p) && len(p) >= 5:
		p[3] |= byte(mysql.SERVER_MORE_RESULTS_EXISTS)
	case len(p) > 0 && p[0] == wire.HeaderOK:
		pos := 1
		for i := 0; i < 2; i++ {
			_, n, _, ok := wire.LenEncInt(p[pos:])
			if !ok {
				return
			}
			pos += n
		}
		if pos+2 <= len(p) {
			p[pos] |= byte(mysql.SERVER_MORE_RESULTS_EXISTS)
		}
	}
}
