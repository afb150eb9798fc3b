package engine

import (
	"math"
	"testing"
)

// MariaDB's my_gcvt: plain notation while the point is at most 15 places
// right of the first digit (or the number has a fraction) and at most 14
// zeros left of it; an exponent otherwise. Go's shortest 'g' switches at
// 1e21 and 1e-4 and wrote 1e6 for MariaDB's 1000000.
func TestFormatFloat(t *testing.T) {
	tenth, fifth := 0.1, 0.2
	for f, want := range map[float64]string{
		0: "0", math.Copysign(0, -1): "0", 1: "1", -2.5: "-2.5", 100: "100", tenth + fifth: "0.30000000000000004",
		1e6: "1000000", 1234567.5: "1234567.5", 1e14: "100000000000000", 1e15: "1e15",
		123456789012345678: "1.2345678901234568e17", 1234567890123456.7: "1234567890123456.8",
		1e-4: "0.0001", 1e-5: "0.00001", 1.5e-14: "0.000000000000015", 1e-15: "0.000000000000001", 1e-16: "1e-16",
		-1.5e300: "-1.5e300", 2.5e-300: "2.5e-300",
	} {
		if got := string(formatFloat(f)); got != want {
			t.Errorf("formatFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
