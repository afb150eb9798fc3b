package backend

import "testing"

func TestVersionID(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"10.11.19-MariaDB-0+deb12u1", 101119},
		{"5.5.5-10.11.19-MariaDB-0+deb12u1", 101119},
		{"5.5.5-10.11.99-MariaDB-shardgate", 101199},
		{"11.4.2-MariaDB", 110402},
		{"8.0.36", 80036},
		{"10.11", 0},
		{"10.111.1", 0},
		{"MariaDB", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := VersionID(tt.in); got != tt.want {
			t.Errorf("VersionID(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
