// Package logs holds what the proxy's packages share about logging: a
// limiter for events that can repeat without bound (refused clients, a
// full pool) and the formats the -log-format flag selects. Loggers
// themselves are passed in through constructors; nothing here is global.
package logs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Every is how often one kind of repeated event may be logged: often
// enough that an operator watching the log sees it is still going on,
// rarely enough that a flood of refused clients cannot fill the disk.
const Every = 10 * time.Second

// maxKeys bounds the kinds a Limiter tracks. Keys are reasons chosen by
// the code (error codes, fixed names), never client text, so this is a
// guard, not a limit anyone should reach.
const maxKeys = 256

// Limiter writes at most one record per key per interval. The records held
// back are counted, and the next record written for the key carries the
// count as the attribute "suppressed" (0 when none were), so no event
// goes unaccounted: a line with suppressed=41 stands for 42 events since
// the previous line of that key.
type Limiter struct {
	log   *slog.Logger
	every time.Duration
	// now is the clock; tests replace it.
	now func() time.Time

	mu   sync.Mutex
	keys map[string]*window
}

type window struct {
	last       time.Time // when the last record of the key was written
	suppressed int64     // records held back since
}

// NewLimiter limits records to log (nil: discarded) to one per key per
// every.
func NewLimiter(log *slog.Logger, every time.Duration) *Limiter {
	if log == nil {
		log = Discard()
	}
	return &Limiter{log: log, every: every, now: time.Now, keys: map[string]*window{}}
}

// Log writes the record msg with args at level, as the first of its key
// or at least every after the previous one written for key; otherwise it
// counts it. It reports whether it wrote.
func (l *Limiter) Log(level slog.Level, key, msg string, args ...any) bool {
	if !l.log.Enabled(context.Background(), level) {
		return false
	}
	now := l.now()
	l.mu.Lock()
	w := l.keys[key]
	if w == nil {
		if len(l.keys) >= maxKeys {
			l.forget(now)
		}
		w = &window{}
		l.keys[key] = w
	} else if now.Sub(w.last) < l.every {
		w.suppressed++
		l.mu.Unlock()
		return false
	}
	suppressed := w.suppressed
	w.last, w.suppressed = now, 0
	l.mu.Unlock()
	l.log.Log(context.Background(), level, msg, append(args, "suppressed", suppressed)...)
	return true
}

// forget drops the keys whose window has passed with nothing held back,
// and when that is not enough, every key (their counts are lost rather
// than the map growing). Called with l.mu held.
func (l *Limiter) forget(now time.Time) {
	for k, w := range l.keys {
		if now.Sub(w.last) >= l.every && w.suppressed == 0 {
			delete(l.keys, k)
		}
	}
	if len(l.keys) >= maxKeys {
		clear(l.keys)
	}
}

// Discard is a logger that writes nothing, for callers given none.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// OrDiscard is log, or Discard when log is nil.
func OrDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return Discard()
	}
	return log
}

// New is a logger writing records in format ("text": key=value lines,
// "json": one JSON object per line) to w, from level up.
func New(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("unknown log format %q: want text or json", format)
}
