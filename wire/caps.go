package wire

import "github.com/go-mysql-org/go-mysql/mysql"

// PassthroughCaps are the capabilities that decide how a server encodes its
// responses (OK/EOF/ERR packets, column definitions, result sets, multiple
// results). The proxy forwards backend responses to clients packet by
// packet without re-encoding them, so it must ask every backend for exactly
// what it offers every client: both sides use this one constant.
//
// Deliberately absent: CLIENT_DEPRECATE_EOF (result sets would end with OK
// instead of EOF), CLIENT_SESSION_TRACK (OK packets would carry session
// state changes), CLIENT_OPTIONAL_RESULTSET_METADATA and
// CLIENT_QUERY_ATTRIBUTES (different result and command layouts). Offering
// any of them to clients without asking backends (or the reverse) would
// hand clients packets in a format they did not agree to.
//
// CLIENT_LOCAL_FILES (LOAD DATA LOCAL's file request) is on both sides:
// the proxy answers LOAD DATA LOCAL itself or relays the backend's request
// to a client that enabled it (router/loaddata.go); it refuses the
// statement, as MariaDB does, for a client that did not.
const PassthroughCaps = mysql.CLIENT_PROTOCOL_41 | mysql.CLIENT_LONG_FLAG | mysql.CLIENT_TRANSACTIONS |
	mysql.CLIENT_MULTI_RESULTS | mysql.CLIENT_PS_MULTI_RESULTS | mysql.CLIENT_LOCAL_FILES

// FormatCaps are all the capabilities that change the encoding of what a
// server sends back. Tests on both sides check that the capabilities they
// use agree with PassthroughCaps on these bits; the other bits (login
// details, CLIENT_CONNECT_WITH_DB, CLIENT_MULTI_STATEMENTS, which the proxy
// splits itself, CLIENT_FOUND_ROWS, chosen per backend connection) may
// differ between the two sides.
const FormatCaps = PassthroughCaps | mysql.CLIENT_DEPRECATE_EOF | mysql.CLIENT_SESSION_TRACK |
	mysql.CLIENT_OPTIONAL_RESULTSET_METADATA | mysql.CLIENT_QUERY_ATTRIBUTES | mysql.CLIENT_LOCAL_FILES
