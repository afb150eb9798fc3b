package xa

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// FormatID is the formatID of every xid shardgate makes ("SG"): recovery
// touches no other prepared transaction on the servers.
const FormatID = 0x5347

// gtridPrefix starts every global transaction id shardgate makes.
const gtridPrefix = "sg:"

// XA limits gtrid and bqual to 64 bytes each.
const maxXIDPart = 64

// maxToken bounds an instance's token, so that a gtrid always fits:
// "sg:" + token + ":" + epoch (base 36, 8 digits until 2059) + ":" + a
// sequence number (base 36, at most 13 digits) is at most 63 bytes.
const maxToken = 36

// XID names one branch of a global transaction: gtrid is the transaction,
// bqual the branch (the cluster's name).
type XID struct{ Gtrid, Bqual string }

// SQL is the xid as XA statements take it. Hex literals need no quoting in
// any sql_mode or character set.
func (x XID) SQL() string {
	return "X'" + hex.EncodeToString([]byte(x.Gtrid)) + "',X'" + hex.EncodeToString([]byte(x.Bqual)) + "'," + strconv.Itoa(FormatID)
}

func (x XID) String() string { return x.Gtrid + "/" + x.Bqual }

// Token is the form of an instance name used in xids and the decision
// log: the name when it is short and made of letters, digits, '.', '_' and
// '-'; otherwise a cleaned prefix and a hash of the whole name, so that two
// names never share a token in practice and a gtrid stays within 64 bytes.
func Token(instance string) string {
	clean := make([]byte, 0, len(instance))
	for i := 0; i < len(instance); i++ {
		c := instance[i]
		if c == '.' || c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			clean = append(clean, c)
		} else {
			clean = append(clean, '_')
		}
	}
	if string(clean) == instance && len(clean) <= maxToken && len(clean) > 0 {
		return instance
	}
	h := fnv.New32a()
	h.Write([]byte(instance))
	if len(clean) > maxToken-9 {
		clean = clean[:maxToken-9]
	}
	return fmt.Sprintf("%s~%08x", clean, h.Sum32())
}

// gtrid is the global transaction id of the seq-th transaction of an
// instance's process started at epoch (unix milliseconds).
func gtrid(token string, epoch int64, seq uint64) string {
	return gtridPrefix + token + ":" + strconv.FormatInt(epoch, 36) + ":" + strconv.FormatUint(seq, 36)
}

// parseGtrid reads the instance token and epoch back; ok is false for a
// gtrid shardgate did not make.
func parseGtrid(g string) (token string, epoch int64, ok bool) {
	rest, found := strings.CutPrefix(g, gtridPrefix)
	if !found {
		return "", 0, false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 || parts[0] == "" {
		return "", 0, false
	}
	epoch, err := strconv.ParseInt(parts[1], 36, 64)
	if err != nil {
		return "", 0, false
	}
	if _, err := strconv.ParseUint(parts[2], 36, 64); err != nil {
		return "", 0, false
	}
	return parts[0], epoch, true
}

// bqual is the branch qualifier for a cluster: its name, or a prefix and a
// hash when the name is longer than XA allows.
func bqual(cluster string) string {
	if len(cluster) <= maxXIDPart && cluster != "" {
		return cluster
	}
	h := fnv.New32a()
	h.Write([]byte(cluster))
	prefix := cluster
	if len(prefix) > maxXIDPart-9 {
		prefix = prefix[:maxXIDPart-9]
	}
	return fmt.Sprintf("%s~%08x", prefix, h.Sum32())
}

// hexLiteral is s as an SQL hex literal (any bytes, no quoting rules).
func hexLiteral(s string) string {
	if s == "" {
		return "''"
	}
	return "X'" + hex.EncodeToString([]byte(s)) + "'"
}
