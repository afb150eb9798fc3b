// Package sequence hands out the values of global sequences: a sharded
// table's id column filled by the proxy instead of each physical table's
// AUTO_INCREMENT, which counts per table and so repeats ids across them.
//
// Values come from a sequence table on one cluster's primary, in blocks:
// one atomic statement moves a sequence's row past a block, and the block
// is this proxy instance's alone. Sessions take values from the block
// without a round trip; two instances never share a block, and a restart
// loses at most the rest of one block per sequence.
package sequence

import (
	"fmt"
	"math"
	"sync"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// Store keeps sequences persistently (the sequence table in production, a
// fake in tests).
type Store interface {
	// Reserve moves key's next value past a block of n values (n may be 0)
	// starting at floor or later, and returns the block's first value.
	// One atomic step: when it returns an error the row may or may not
	// have moved, and the caller must not use any value of that block.
	Reserve(key string, n, floor int64) (first int64, err error)
}

// Config is a sequence's rule: its first value and its block size.
type Config struct {
	Start, Cache int64
}

// Slot is one row of a statement: either it needs a value, or it gives
// one (Value, when known; an explicit value moves the sequence past it,
// as MariaDB's AUTO_INCREMENT does).
type Slot struct {
	Explicit bool
	Value    int64
}

// Allocator gives out values from the blocks this instance holds. It is
// safe for concurrent use; it keeps no package-level state.
type Allocator struct {
	store Store
	mu    sync.Mutex
	seqs  map[string]*block
}

// block is what remains of one sequence's current block: [next, end).
// Its mutex is held across a Reserve, so sessions that need the next
// block wait for one round trip instead of each making their own.
type block struct {
	mu        sync.Mutex
	next, end int64
}

// New returns an allocator over store.
func New(store Store) *Allocator {
	return &Allocator{store: store, seqs: map[string]*block{}}
}

func (a *Allocator) block(key string) *block {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.seqs[key]
	if b == nil {
		b = &block{}
		a.seqs[key] = b
	}
	return b
}

// Assign gives every slot that needs a value one, in row order, and
// returns them (0 for explicit slots). Consecutive rows that need values
// get consecutive values, as one INSERT gets from AUTO_INCREMENT, so
// first + i is the i-th generated value. An explicit value at or past the
// next value moves the sequence past it: in this instance at once, and
// in the sequence table when it lies beyond this instance's block, so
// that every instance's next block starts past it.
func (a *Allocator) Assign(key string, cfg Config, slots []Slot) ([]int64, error) {
	b := a.block(key)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next < cfg.Start {
		// A block from before start was raised (a reload): skip to it.
		b.next = min(cfg.Start, b.end)
	}
	out := make([]int64, len(slots))
	for i := 0; i < len(slots); {
		if s := slots[i]; s.Explicit {
			if err := a.moveFor(key, cfg, b, s.Value); err != nil {
				return nil, err
			}
			i++
			continue
		}
		run := 0
		for j := i; j < len(slots) && !slots[j].Explicit; j++ {
			run++
		}
		if err := a.ensure(key, cfg, b, int64(run), cfg.Start); err != nil {
			return nil, err
		}
		for k := 0; k < run; k++ {
			out[i+k] = b.next
			b.next++
		}
		i += run
	}
	return out, nil
}

// moveFor moves the sequence past an explicit value v.
func (a *Allocator) moveFor(key string, cfg Config, b *block, v int64) error {
	if v < b.next || v < cfg.Start {
		return nil
	}
	if v >= math.MaxInt64-cfg.Cache {
		return exhausted(key, fmt.Errorf("explicit value %d leaves no room", v))
	}
	if v+1 < b.end {
		// Other instances' blocks start at or past b.end already.
		b.next = v + 1
		return nil
	}
	b.next = b.end // the rest of the block lies below v
	return a.ensure(key, cfg, b, 1, v+1)
}

// ensure makes [b.next, b.next+n) available, all values at least floor,
// taking a new block when the current one has too few left. A new block
// that does not follow the current one on from b.end replaces it: the
// rest of the old one is skipped, so that a statement's values stay
// consecutive.
func (a *Allocator) ensure(key string, cfg Config, b *block, n, floor int64) error {
	if b.next >= floor && b.end-b.next >= n {
		return nil
	}
	size := max(cfg.Cache, n)
	want := max(floor, cfg.Start)
	first, err := a.store.Reserve(key, size, want)
	if err != nil {
		// Whether the row moved is unknown: the block is never used. The
		// next Reserve starts past it in either case.
		return exhausted(key, err)
	}
	if first < want || first > math.MaxInt64-size {
		return exhausted(key, fmt.Errorf("the sequence table gave block %d for a floor of %d", first, want))
	}
	if first == b.end && b.next >= floor {
		b.end = first + size // contiguous: keep what was left
		return nil
	}
	b.next, b.end = first, first+size
	return nil
}

// exhausted is what the client hears when no value can be had: MariaDB's
// error for an AUTO_INCREMENT value that cannot be read. The INSERT did
// not run.
func exhausted(key string, err error) error {
	return wire.Errorf(mysql.ER_AUTOINC_READ_FAILED, "Failed to read auto-increment value from storage engine (shardgate: sequence %s: %v; the statement was not run)", key, err)
}
