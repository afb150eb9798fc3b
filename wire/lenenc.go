package wire

// Length-encoded integers and strings, decoded without trusting the input:
// these run on bytes a client sent, so truncated or hostile values must fail
// cleanly rather than panic.

// LenEncInt decodes a length-encoded integer at the start of b. ok is false
// when b is truncated; null is true for the NULL marker 0xfb.
func LenEncInt(b []byte) (v uint64, n int, null, ok bool) {
	if len(b) == 0 {
		return 0, 0, false, false
	}
	switch b[0] {
	case 0xfb:
		return 0, 1, true, true
	case 0xfc:
		n = 3
	case 0xfd:
		n = 4
	case 0xfe:
		n = 9
	case 0xff:
		return 0, 0, false, false
	default:
		return uint64(b[0]), 1, false, true
	}
	if len(b) < n {
		return 0, 0, false, false
	}
	for i := n - 1; i >= 1; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, n, false, true
}

// LenEncString decodes a length-encoded string at the start of b; the result
// aliases b.
func LenEncString(b []byte) (s []byte, n int, null, ok bool) {
	v, m, null, ok := LenEncInt(b)
	if !ok || null {
		return nil, m, null, ok
	}
	if v > uint64(len(b)-m) {
		return nil, 0, false, false
	}
	end := m + int(v)
	return b[m:end:end], end, false, true
}
