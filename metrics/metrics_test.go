package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/memory"
)

// The memory budget is exported as it stands at scrape time.
func TestMemoryMetrics(t *testing.T) {
	m := New(func() []Backend { return nil })
	b := memory.NewBudget(64<<20, 16<<20, 8<<20)
	m.Memory(b)
	conn := b.Connection()
	st := b.Statement(conn)
	if err := st.Grow(5 << 20); err != nil {
		t.Fatal(err)
	}
	st.Grow(4 << 20) // past the statement's 8 MiB: refused
	conn.Grow(12 << 20)
	st.Shrink(1 << 20)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"shardgate_memory_limit_bytes 6.7108864e+07",
		"shardgate_memory_reserved_bytes 4.194304e+06",
		"shardgate_memory_reserved_peak_bytes 5.24288e+06",
		`shardgate_memory_refusals_total{limit="statement_memory_limit"} 1`,
		`shardgate_memory_refusals_total{limit="connection_memory_limit"} 1`,
		`shardgate_memory_refusals_total{limit="memory_limit"} 0`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("no %q in\n%s", want, grepLines(string(body), "shardgate_memory"))
		}
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
