package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no input makes the loader panic, and every refusal names the
// file (file:line: what).
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("../testdata/*.yaml")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed rules files: %v", err)
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		base + "  s0:\nschemas: {shop: {cluster: main}}\n",
		base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n",
		base + "schemas: {shop: {cluster: main}}\nhealth_interval: -1s\n",
		"", "~", "[]", "a: &x [*x]", "users: [~]\nclusters: {m: {replicas: [~]}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml:") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		// What loads is usable: the default schema exists and every
		// cluster has a primary.
		if r.DefaultSchema() == nil {
			t.Fatal("loaded rules without a default schema")
		}
		for name, c := range r.Clusters {
			if c == nil || c.Primary == "" {
				t.Fatalf("cluster %s loaded without a primary", name)
			}
		}
	})
}
