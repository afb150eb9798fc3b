package rules

import (
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Users: which schemas each may reach, from where, with what rights.

// hostPattern is one entry of a user's hosts: a CIDR, or a MySQL host
// pattern (% any characters, _ one) matched against the client's address
// in its textual form. Host names are not accepted: the proxy does not
// resolve client addresses (MariaDB's skip-name-resolve).
type hostPattern struct {
	net     *net.IPNet
	pattern string // lower-case; used when net is nil
}

func (h hostPattern) match(ip net.IP) bool {
	if h.net != nil {
		return h.net.Contains(ip)
	}
	return wildcardMatch(h.pattern, strings.ToLower(ip.String()))
}

// parseHostPattern accepts 10.0.0.0/8, 10.0.0.0/255.0.0.0 (MySQL's
// netmask form), 127.0.0.%, fe80::%, 127.0.0.1 and %.
func parseHostPattern(s string) (hostPattern, bool) {
	if addr, mask, ok := strings.Cut(s, "/"); ok {
		if m := net.ParseIP(mask); m != nil && m.To4() != nil {
			ip := net.ParseIP(addr).To4()
			if ip == nil {
				return hostPattern{}, false
			}
			ipm := net.IPMask(m.To4())
			if ones, bits := ipm.Size(); ones == 0 && bits == 0 {
				return hostPattern{}, false // not a contiguous mask
			}
			return hostPattern{net: &net.IPNet{IP: ip.Mask(ipm), Mask: ipm}}, true
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return hostPattern{}, false
		}
		return hostPattern{net: n}, true
	}
	if s == "" {
		return hostPattern{}, false
	}
	for _, c := range strings.ToLower(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '.' || c == ':' || c == '%' || c == '_') {
			return hostPattern{}, false
		}
	}
	if ip := net.ParseIP(s); ip != nil {
		// One address: compare addresses, not spellings (::1 and
		// 0:0:0:0:0:0:0:1 are one host).
		bits := 128
		if ip.To4() != nil {
			ip, bits = ip.To4(), 32
		}
		return hostPattern{net: &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}}, true
	}
	if !strings.ContainsAny(s, "%_") {
		return hostPattern{}, false // neither an address nor a pattern: a host name
	}
	return hostPattern{pattern: strings.ToLower(s)}, true
}

// wildcardMatch is LIKE without escapes: % matches any run of characters,
// _ exactly one.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '_' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '%':
			star, mark = p, i
			p++
		case star >= 0:
			// Let the last % swallow one more character and retry.
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '%' {
		p++
	}
	return p == len(pattern)
}

// parseNativeHash recognises mysql_native_password's stored form, as in
// mysql.user: "*" followed by the 40 hex digits of SHA1(SHA1(password)).
func parseNativeHash(pw string) []byte {
	if len(pw) != 41 || pw[0] != '*' {
		return nil
	}
	h, err := hex.DecodeString(pw[1:])
	if err != nil {
		return nil
	}
	return h
}

// SHA2Hash is caching_sha2_password's stored form, as mysql.user holds it
// in authentication_string: "$A$", the rounds divided by 1000 as three hex
// digits, "$", a 20-byte salt and the 43-character SHA-256-crypt digest of
// the password with that salt and number of rounds.
type SHA2Hash struct {
	Rounds int
	Salt   []byte
	Digest string
}

const (
	sha2Prefix    = "$A$"
	sha2SaltLen   = 20
	sha2DigestLen = 43
	// sha2FormLen is $A$ + 3 hex digits + $ + salt + digest.
	sha2FormLen = len(sha2Prefix) + 3 + 1 + sha2SaltLen + sha2DigestLen
	// cryptAlphabet is crypt(3)'s base-64 alphabet, the digest's.
	cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// parseSHA2Hash recognises caching_sha2_password's stored form, written
// as is ("$A$005$…"; its salt is 7-bit bytes other than NUL and '$', which
// a YAML double-quoted string can spell with \x escapes) or as the hex
// literal SHOW CREATE USER prints with print_identified_with_as_hex
// (0x24412430…). A password in neither form is clear text (nil, "");
// one that starts like the stored form but is malformed is an error, never
// taken for clear text.
func parseSHA2Hash(pw string) (*SHA2Hash, string) {
	form := pw
	if len(pw) > 2 && (pw[:2] == "0x" || pw[:2] == "0X") {
		b, err := hex.DecodeString(pw[2:])
		if err != nil || !strings.HasPrefix(string(b), sha2Prefix) {
			return nil, "" // clear text that happens to start with 0x
		}
		form = string(b)
	}
	if !strings.HasPrefix(form, sha2Prefix) {
		return nil, ""
	}
	const want = "caching_sha2_password's stored form is $A$, three hex digits of rounds/1000 (005), $, a 20-byte salt and a 43-character digest (70 bytes)"
	if len(form) != sha2FormLen || form[sha2FormLen-sha2DigestLen-sha2SaltLen-1] != '$' {
		return nil, fmt.Sprintf("%s; got %d bytes", want, len(form))
	}
	n, err := strconv.ParseUint(form[3:6], 16, 16)
	if err != nil || n < 5 {
		// MySQL's caching_sha2_password_digest_rounds is at least 5000.
		return nil, fmt.Sprintf("%s; rounds %q is not a hex count of thousands of at least 005", want, form[3:6])
	}
	salt := []byte(form[7 : 7+sha2SaltLen])
	for _, c := range salt {
		if c == 0 || c == '$' || c >= 0x80 {
			return nil, fmt.Sprintf("%s; the salt holds byte 0x%02x, which MySQL never generates", want, c)
		}
	}
	digest := form[7+sha2SaltLen:]
	for i := 0; i < len(digest); i++ {
		if !strings.ContainsRune(cryptAlphabet, rune(digest[i])) {
			return nil, fmt.Sprintf("%s; the digest holds %q, outside crypt's base-64 alphabet", want, digest[i])
		}
	}
	return &SHA2Hash{Rounds: int(n) * 1000, Salt: salt, Digest: digest}, ""
}

// userLines records where each hosts and schemas entry of a user is
// written, so an error names that line.
type userLines struct {
	hosts, schemas []int
}

func (u *User) recordLines(n *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		var dst *[]int
		switch n.Content[i].Value {
		case "hosts":
			dst = &u.lines.hosts
		case "schemas":
			dst = &u.lines.schemas
		default:
			continue
		}
		for _, e := range n.Content[i+1].Content {
			*dst = append(*dst, e.Line)
		}
	}
}

func lineOf(lines []int, i, fallback int) int {
	if i < len(lines) {
		return lines[i]
	}
	return fallback
}

// validateUser checks a user's keys against the declared schemas and
// compiles its host patterns and password hash.
func (r *Rules) validateUser(u *User) error {
	if strings.HasPrefix(u.Password, "$5$") {
		return lineError(u.line, "user %s: sha256_password's stored form ($5$…) is not supported; give the clear text, the mysql_native_password hash *<40 hex digits> or the caching_sha2_password hash $A$005$…", u.Name)
	}
	u.nativeHash = parseNativeHash(u.Password)
	sha2, err := parseSHA2Hash(u.Password)
	if err != "" {
		return lineError(u.line, "user %s: %s", u.Name, err)
	}
	u.sha2Hash = sha2
	if u.Schemas != nil && len(u.Schemas) == 0 {
		return lineError(u.line, "user %s: schemas is empty; list schema names, or leave it out (or give \"*\") for every declared schema", u.Name)
	}
	u.schemaSet = nil
	all := false
	set := map[string]bool{}
	for i, name := range u.Schemas {
		line := lineOf(u.lines.schemas, i, u.line)
		switch {
		case name == "*":
			all = true
		case r.Schemas[name] == nil:
			return lineError(line, "user %s: schemas: unknown schema %q (declared: %s)", u.Name, name, strings.Join(sortedKeys(r.Schemas), ", "))
		default:
			set[name] = true
		}
	}
	if all && len(set) > 0 {
		return lineError(u.line, "user %s: schemas: \"*\" already means every declared schema; give it alone", u.Name)
	}
	if len(set) > 0 {
		u.schemaSet = set
	}
	u.hosts = nil
	for i, h := range u.Hosts {
		p, ok := parseHostPattern(h)
		if !ok {
			return lineError(lineOf(u.lines.hosts, i, u.line), "user %s: hosts: %q: want an address, a pattern with %% or _ (127.0.0.%%) or a CIDR (10.0.0.0/8); host names are not resolved", u.Name, h)
		}
		u.hosts = append(u.hosts, p)
	}
	if u.Hosts != nil && len(u.Hosts) == 0 {
		return lineError(u.line, "user %s: hosts is empty: nobody could log in; leave it out for any host", u.Name)
	}
	for _, name := range u.SystemSchemas {
		if !IsServerSchema(name) {
			return lineError(u.line, "user %s: system_schemas: %q is not one of mysql, performance_schema, sys (declared schemas go in schemas)", u.Name, name)
		}
	}
	if u.MaxConnections < 0 {
		return lineError(u.line, "user %s: max_connections %d: must be 0 (unlimited) or more", u.Name, u.MaxConnections)
	}
	if err := u.Limits.check(); err != nil {
		return lineError(u.line, "user %s: %v", u.Name, err)
	}
	return nil
}

// IsServerSchema reports the servers' own schemas that hold accounts,
// password hashes and every client's statements: mysql, performance_schema
// and sys. Clients reach them only where system_schemas lists them.
func IsServerSchema(name string) bool {
	switch strings.ToLower(name) {
	case "mysql", "performance_schema", "sys":
		return true
	}
	return false
}

// MayReadServerSchema reports whether the user's system_schemas lists
// schema. A nil user (the proxy's own sessions) may.
func (u *User) MayReadServerSchema(schema string) bool {
	if u == nil {
		return true
	}
	for _, s := range u.SystemSchemas {
		if strings.EqualFold(s, schema) {
			return true
		}
	}
	return false
}
