// Package slowlog keeps the statements slower than a threshold: one JSON
// line each in a file that rotates by size (lumberjack), and a bounded
// table of totals per fingerprint for SHOW SHARDGATE SLOW.
package slowlog

import (
	"encoding/json"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Entry is one slow statement.
type Entry struct {
	Time        time.Time `json:"time"`
	User        string    `json:"user"`
	Host        string    `json:"host"`
	Conn        uint32    `json:"conn"`
	Schema      string    `json:"schema"`
	Fingerprint string    `json:"fingerprint"`
	// Statement is the text, cut at MaxStatement bytes.
	Statement  string   `json:"statement"`
	DurationMS float64  `json:"duration_ms"`
	Kind       string   `json:"kind"`
	Route      string   `json:"route"`
	Tables     []string `json:"tables,omitempty"`
	// Clusters the statement ran on; Rows it returned, Affected the rows
	// its OK packets reported changed.
	Clusters []string `json:"clusters,omitempty"`
	Rows     uint64   `json:"rows"`
	Affected uint64   `json:"affected_rows"`
	Code     uint16   `json:"error_code,omitempty"`
}

// MaxStatement bounds the text an entry keeps of its statement.
const MaxStatement = 1024

// MaxFingerprinted bounds the text a fingerprint is computed from: a
// statement inlining a value of many megabytes would otherwise cost
// seconds of normalising to be logged as slow. Statements that share
// their first 64 KiB share a fingerprint.
const MaxFingerprinted = 64 << 10

// FingerprintText is sql cut at MaxFingerprinted bytes, at the start of a
// UTF-8 character.
func FingerprintText(sql string) string {
	if len(sql) <= MaxFingerprinted {
		return sql
	}
	cut := MaxFingerprinted
	for cut > 0 && !utf8.RuneStart(sql[cut]) {
		cut--
	}
	return sql[:cut]
}

// MaxFingerprints bounds the table of totals: past it, the fingerprint
// with the least total time makes room.
const MaxFingerprints = 1000

// Stat is the totals of one fingerprint's slow statements since start.
type Stat struct {
	Fingerprint string
	Count       int64
	Total, Max  time.Duration
	// Example is the text of its slowest statement.
	Example string
}

// Config says where the lines go.
type Config struct {
	// File is the log file; "" writes no file.
	File       string
	MaxSize    int64 // bytes before rotating
	MaxBackups int
	Threshold  time.Duration
}

// Log records slow statements. Safe for concurrent use.
type Log struct {
	threshold atomic.Int64
	mu        sync.Mutex
	out       io.WriteCloser
	stats     map[string]*Stat
}

// New opens the log; the file is created on the first slow statement.
func New(cfg Config) *Log {
	l := &Log{stats: map[string]*Stat{}}
	l.threshold.Store(int64(cfg.Threshold))
	if cfg.File != "" {
		l.out = &lumberjack.Logger{Filename: cfg.File, MaxSize: max(1, int(cfg.MaxSize>>20)), MaxBackups: cfg.MaxBackups}
	}
	return l
}

// Threshold is the duration from which a statement is slow.
func (l *Log) Threshold() time.Duration { return time.Duration(l.threshold.Load()) }

// SetThreshold changes it at runtime.
func (l *Log) SetThreshold(d time.Duration) { l.threshold.Store(int64(d)) }

// Slow reports whether a statement that took d is slow.
func (l *Log) Slow(d time.Duration) bool { return l != nil && d >= l.Threshold() }

// Record keeps one slow statement: a line in the file, and its
// fingerprint's totals. A failed write to the file is returned (the
// caller logs it); the totals are kept anyway.
func (l *Log) Record(e Entry) error {
	took := time.Duration(e.DurationMS * float64(time.Millisecond))
	if len(e.Statement) > MaxStatement {
		e.Statement = e.Statement[:MaxStatement]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stats[e.Fingerprint]
	if st == nil {
		if len(l.stats) >= MaxFingerprints {
			l.evict()
		}
		st = &Stat{Fingerprint: e.Fingerprint}
		l.stats[e.Fingerprint] = st
	}
	st.Count++
	st.Total += took
	if took >= st.Max {
		st.Max, st.Example = took, e.Statement
	}
	if l.out == nil {
		return nil
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = l.out.Write(append(line, '\n'))
	return err
}

// evict drops the fingerprint with the least total time. mu is held.
func (l *Log) evict() {
	var least *Stat
	for _, st := range l.stats {
		if least == nil || st.Total < least.Total {
			least = st
		}
	}
	if least != nil {
		delete(l.stats, least.Fingerprint)
	}
}

// Top lists the n fingerprints with the most total time, most first.
func (l *Log) Top(n int) []Stat {
	l.mu.Lock()
	out := make([]Stat, 0, len(l.stats))
	for _, st := range l.stats {
		out = append(out, *st)
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].Fingerprint < out[j].Fingerprint
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out == nil {
		return nil
	}
	return l.out.Close()
}
