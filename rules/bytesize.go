package rules

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ByteSize is a number of bytes written as an integer or with a suffix K,
// M, G or T (optionally followed by B or iB), which are powers of 1024 as
// in MariaDB's option files: 64M, 64MiB and 67108864 are the same.
type ByteSize int64

var byteSuffixes = map[string]int64{"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineError(n.Line, "want a size in bytes such as 1G, 512M or 1048576")
	}
	text := strings.TrimSpace(n.Value)
	upper := strings.ToUpper(text)
	upper = strings.TrimSuffix(strings.TrimSuffix(upper, "IB"), "B")
	num := strings.TrimRight(upper, "KMGT")
	unit, ok := byteSuffixes[upper[len(num):]]
	v, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if !ok || err != nil || (v != 0 && (v*unit)/unit != v) {
		return lineError(n.Line, "%q: want a size in bytes such as 1G, 512M or 1048576", text)
	}
	*b = ByteSize(v * unit)
	return nil
}

// String writes the size in the largest unit that divides it, as the rules
// file may: 1G, 96M, 1000.
func (b ByteSize) String() string {
	for _, u := range []string{"T", "G", "M", "K"} {
		if m := byteSuffixes[u]; b != 0 && int64(b)%m == 0 {
			return strconv.FormatInt(int64(b)/m, 10) + u
		}
	}
	return strconv.FormatInt(int64(b), 10)
}
