package slowlog

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRecordWritesLinesAndTotals(t *testing.T) {
	file := filepath.Join(t.TempDir(), "slow.log")
	l := New(Config{File: file, MaxSize: 1 << 20, MaxBackups: 2, Threshold: 100 * time.Millisecond})
	if l.Slow(99*time.Millisecond) || !l.Slow(100*time.Millisecond) {
		t.Fatal("threshold")
	}
	l.SetThreshold(time.Second)
	if l.Slow(500 * time.Millisecond) {
		t.Fatal("SetThreshold did not raise the threshold")
	}
	long := make([]byte, 2*MaxStatement)
	for i := range long {
		long[i] = 'x'
	}
	for _, e := range []Entry{
		{Fingerprint: "a", Statement: "A 1", DurationMS: 1500, User: "app", Tables: []string{"shop.t"}},
		{Fingerprint: "b", Statement: "B", DurationMS: 4000},
		{Fingerprint: "a", Statement: "A 2", DurationMS: 3000},
		{Fingerprint: "c", Statement: string(long), DurationMS: 1000},
	} {
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	top := l.Top(2)
	if len(top) != 2 || top[0].Fingerprint != "a" || top[0].Count != 2 || top[0].Total != 4500*time.Millisecond ||
		top[0].Max != 3*time.Second || top[0].Example != "A 2" || top[1].Fingerprint != "b" {
		t.Fatalf("top: %+v", top)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, e)
	}
	if len(lines) != 4 || lines[0].User != "app" || lines[0].Tables[0] != "shop.t" || len(lines[3].Statement) != MaxStatement {
		t.Fatalf("lines: %+v", lines)
	}
}

// TestTotalsBounded: past MaxFingerprints, the least total makes room.
func TestTotalsBounded(t *testing.T) {
	l := New(Config{Threshold: time.Millisecond})
	for i := 0; i < MaxFingerprints+10; i++ {
		l.Record(Entry{Fingerprint: fmt.Sprint(i), DurationMS: float64(1000 + i)})
	}
	top := l.Top(2 * MaxFingerprints)
	if len(top) != MaxFingerprints {
		t.Fatalf("%d fingerprints kept, want %d", len(top), MaxFingerprints)
	}
	if top[0].Fingerprint != fmt.Sprint(MaxFingerprints+9) || top[len(top)-1].Fingerprint != "10" {
		t.Fatalf("kept %s … %s", top[0].Fingerprint, top[len(top)-1].Fingerprint)
	}
}

// A fingerprint is computed from at most MaxFingerprinted bytes, cut
// before a character, never inside one.
func TestFingerprintText(t *testing.T) {
	short := "SELECT 1"
	if got := FingerprintText(short); got != short {
		t.Errorf("short text changed: %q", got)
	}
	long := strings.Repeat("a", MaxFingerprinted-1) + "é" + strings.Repeat("b", 100)
	got := FingerprintText(long)
	if len(got) != MaxFingerprinted-1 || !utf8.ValidString(got) {
		t.Errorf("cut at %d bytes (valid UTF-8 %v), want %d", len(got), utf8.ValidString(got), MaxFingerprinted-1)
	}
	exact := strings.Repeat("c", MaxFingerprinted+5)
	if got := FingerprintText(exact); len(got) != MaxFingerprinted {
		t.Errorf("cut at %d bytes, want %d", len(got), MaxFingerprinted)
	}
}
