// Package memory is the proxy's memory budget: one process-wide limit
// (memory_limit in the rules) that everything buffering more than a packet
// reserves from before it allocates, and gives back when it is done. A
// connection's account takes at most connection_memory_limit of it, and the
// account of one statement running on that connection at most
// statement_memory_limit, so one client cannot take the whole budget.
//
// A Budget belongs to the router (one per process, never a package
// variable); accounts are cheap and made per connection and per statement.
// Everything here is safe for concurrent use, and nothing ever goes
// negative: an account can give back only what it holds.
package memory

import (
	"fmt"
	"sync/atomic"
)

// Scope is which limit an account enforces.
type Scope int

const (
	// Process is the whole budget: memory_limit.
	Process Scope = iota
	// Connection is one client connection's share: connection_memory_limit.
	// What it holds between statements (prepared statements' long data)
	// and what its running statement holds both count.
	Connection
	// Statement is one statement's share: statement_memory_limit.
	Statement
	numScopes
)

// Key is the rules key that sets the scope's limit. Errors name it, so a
// client reading one knows what to raise.
func (s Scope) Key() string {
	switch s {
	case Connection:
		return "connection_memory_limit"
	case Statement:
		return "statement_memory_limit"
	}
	return "memory_limit"
}

// Budget is the process-wide limit and the shares accounts get.
type Budget struct {
	limit    int64
	shares   [numScopes]int64
	used     atomic.Int64
	peak     atomic.Int64
	refusals [numScopes]atomic.Int64
}

// NewBudget makes a budget of limit bytes whose connection accounts may
// hold at most connection bytes and statement accounts statement bytes.
// The rules validate that 0 < statement <= connection <= limit.
func NewBudget(limit, connection, statement int64) *Budget {
	b := &Budget{limit: limit}
	b.shares = [numScopes]int64{Process: limit, Connection: connection, Statement: statement}
	return b
}

// Limit is memory_limit in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Share is the limit of an account of scope s.
func (b *Budget) Share(s Scope) int64 { return b.shares[s] }

// Reserved is what all accounts hold now.
func (b *Budget) Reserved() int64 { return b.used.Load() }

// Peak is the most the accounts have held at once.
func (b *Budget) Peak() int64 { return b.peak.Load() }

// Refusals counts the reservations refused because the limit of scope s
// was reached.
func (b *Budget) Refusals(s Scope) int64 { return b.refusals[s].Load() }

// Connection opens a connection's account; Close it when the client goes.
func (b *Budget) Connection() *Account {
	if b == nil {
		return nil
	}
	return &Account{budget: b, scope: Connection, limit: b.shares[Connection]}
}

// Statement opens an account for one statement inside a (the
// connection's account, nil for a statement of no connection); Close it
// when the statement ends, however it ends.
func (b *Budget) Statement(a *Account) *Account {
	if b == nil {
		return nil
	}
	return &Account{budget: b, parent: a, scope: Statement, limit: b.shares[Statement]}
}

// reserve adds n to *used unless that passes limit.
func reserve(used, peak *atomic.Int64, limit, n int64) bool {
	for {
		cur := used.Load()
		if cur+n > limit || cur+n < cur {
			return false
		}
		if used.CompareAndSwap(cur, cur+n) {
			if peak != nil {
				for p := peak.Load(); cur+n > p && !peak.CompareAndSwap(p, cur+n); p = peak.Load() {
				}
			}
			return true
		}
	}
}

// Account is what one connection or one statement holds. Grow before
// allocating, Shrink after letting go, Close at the end; a nil *Account
// accounts nothing and refuses nothing (code paths that have no budget,
// such as unit tests of other things).
type Account struct {
	budget *Budget
	parent *Account
	scope  Scope
	limit  int64
	used   atomic.Int64
}

// Scope is which limit the account enforces.
func (a *Account) Scope() Scope { return a.scope }

// Used is what the account holds, its children included.
func (a *Account) Used() int64 {
	if a == nil {
		return 0
	}
	return a.used.Load()
}

// Grow reserves n more bytes, or refuses with *Refusal naming the first
// limit it would pass: the account's own, then its parent's, then the
// process's. A refusal reserves nothing.
func (a *Account) Grow(n int64) error {
	if a == nil || n <= 0 {
		return nil
	}
	if !reserve(&a.used, nil, a.limit, n) {
		return a.budget.refuse(a.scope, a.limit, a.used.Load(), n)
	}
	var err error
	switch {
	case a.parent != nil:
		err = a.parent.Grow(n)
	case !reserve(&a.budget.used, &a.budget.peak, a.budget.limit, n):
		err = a.budget.refuse(Process, a.budget.limit, a.budget.used.Load(), n)
	}
	if err != nil {
		a.used.Add(-n)
	}
	return err
}

// Shrink gives back n bytes (at most what the account holds).
func (a *Account) Shrink(n int64) {
	if a == nil || n <= 0 {
		return
	}
	for {
		cur := a.used.Load()
		m := min(n, cur)
		if m <= 0 {
			return
		}
		if a.used.CompareAndSwap(cur, cur-m) {
			n = m
			break
		}
	}
	if a.parent != nil {
		a.parent.Shrink(n)
	} else {
		a.budget.used.Add(-n)
	}
}

// Close gives back everything the account holds. Closing twice, or
// growing after, is harmless: the account is simply empty again.
func (a *Account) Close() {
	if a != nil {
		a.Shrink(a.used.Load())
	}
}

func (b *Budget) refuse(s Scope, limit, held, want int64) error {
	b.refusals[s].Add(1)
	return &Refusal{Scope: s, Limit: limit, Held: held, Want: want}
}

// Refusal is a reservation refused: Want more bytes would have passed the
// Scope's Limit, of which Held were in use. Callers turn it into the
// MySQL error that fits what they were buffering (1038 for a sort, 1041
// otherwise).
type Refusal struct {
	Scope      Scope
	Limit      int64
	Held, Want int64
}

func (r *Refusal) Error() string {
	if r.Scope == Process {
		return fmt.Sprintf("the proxy's %s (%s) is in use (%s held by all clients, %s more needed)",
			r.Scope.Key(), Format(r.Limit), Format(r.Held), Format(r.Want))
	}
	what := "connection"
	if r.Scope == Statement {
		what = "statement"
	}
	return fmt.Sprintf("%s (%s) reached: the %s holds %s and needs %s more",
		r.Scope.Key(), Format(r.Limit), what, Format(r.Held), Format(r.Want))
}

// Format writes a byte count for people: 64 MiB, 1.5 GiB, 300 KiB.
func Format(n int64) string {
	const (
		kib = 1 << 10
		mib = 1 << 20
		gib = 1 << 30
	)
	switch {
	case n >= gib:
		return trim(float64(n)/gib) + " GiB"
	case n >= mib:
		return trim(float64(n)/mib) + " MiB"
	case n >= kib:
		return trim(float64(n)/kib) + " KiB"
	}
	return fmt.Sprintf("%d bytes", n)
}

func trim(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s
}
