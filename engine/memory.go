package engine

import (
	"errors"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/wire"
)

// MemoryRefusedError is a refusal of the memory budget as the client hears
// it: the MySQL error, and the refusal it words (so that the session can
// tell the proxy's own 1038 from a server's).
type MemoryRefusedError struct {
	*mysql.MyError
	Refusal *memory.Refusal
}

func (e *MemoryRefusedError) Unwrap() []error { return []error{e.MyError, e.Refusal} }

// MemoryError is what a client hears when a buffer could not be reserved
// from the memory budget (err holds the *memory.Refusal; anything else is
// returned as it is). code is ER_OUT_OF_SORTMEMORY (1038) for sorts and
// ER_OUT_OF_RESOURCES (1041) for every other buffer, as a MySQL server
// answers; what says what needed the memory and avoid how the statement
// could need less. This is the one place these messages are worded.
func MemoryError(code uint16, what, avoid string, err error) error {
	var r *memory.Refusal
	if !errors.As(err, &r) {
		return err
	}
	return &MemoryRefusedError{MyError: memoryMessage(code, what, avoid, r), Refusal: r}
}

func memoryMessage(code uint16, what, avoid string, r *memory.Refusal) *mysql.MyError {
	if avoid != "" {
		avoid += ", or "
	}
	switch r.Scope {
	case memory.Process:
		// Other clients hold the budget: this statement may fit later.
		return wire.Errorf(code, "shardgate: out of memory: %s needs %s more, but the proxy's memory_limit (%s) is in use (%s held by all clients); retry later, %sraise memory_limit in the rules",
			what, memory.Format(r.Want), memory.Format(r.Limit), memory.Format(r.Held), avoid)
	case memory.Connection:
		return wire.Errorf(code, "shardgate: out of memory: %s would take this connection past connection_memory_limit (%s; it holds %s, long data of prepared statements included); %sraise connection_memory_limit in the rules",
			what, memory.Format(r.Limit), memory.Format(r.Held), avoid)
	}
	// What it held when refused plus what it asked for is a lower bound
	// of its need: a streamed statement cannot know the rest in advance.
	return wire.Errorf(code, "shardgate: out of memory: %s needs at least %s of proxy memory (it held %s and asked for %s more), more than statement_memory_limit (%s); %sraise statement_memory_limit in the rules",
		what, memory.Format(r.Held+r.Want), memory.Format(r.Held), memory.Format(r.Want), memory.Format(r.Limit), avoid)
}

// sortMemoryError is MemorySort's refusal; what the sort is for ("": an
// ORDER BY).
func sortMemoryError(what string, err error) error {
	if what != "" {
		return MemoryError(mysql.ER_OUT_OF_SORTMEMORY, what,
			"add a shard-key condition, or give the windows one PARTITION BY and ORDER BY", err)
	}
	return MemoryError(mysql.ER_OUT_OF_SORTMEMORY, "ORDER BY over rows merged from several shards",
		"add a shard-key condition, or order by the GROUP BY columns", err)
}
