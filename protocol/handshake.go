package protocol

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"net"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// serverCaps are the capabilities offered to clients: the response format
// of wire.PassthroughCaps (result packets are forwarded from backends
// unchanged), plus login details and features the proxy implements itself
// (CLIENT_FOUND_ROWS picks the kind of backend connection, multi-statements
// are split by the proxy, the database of the handshake becomes COM_INIT_DB).
const serverCaps = wire.PassthroughCaps | mysql.CLIENT_LONG_PASSWORD | mysql.CLIENT_FOUND_ROWS |
	mysql.CLIENT_CONNECT_WITH_DB | mysql.CLIENT_SECURE_CONNECTION | mysql.CLIENT_MULTI_STATEMENTS |
	mysql.CLIENT_PLUGIN_AUTH | mysql.CLIENT_CONNECT_ATTRS | mysql.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA

const (
	pluginNative      = "mysql_native_password"
	pluginCachingSHA2 = "caching_sha2_password"
)

// handshakeResponse is what a client sends after the server's greeting.
type handshakeResponse struct {
	caps      uint32
	collation uint8
	user      string
	auth      []byte
	db        string
	plugin    string
}

var errMalformed = errors.New("malformed packet")

// parseHandshakeResponse decodes HandshakeResponse41. It never trusts a
// length it has not checked: the bytes come from anyone who can connect.
func parseHandshakeResponse(p []byte) (handshakeResponse, error) {
	var r handshakeResponse
	if len(p) < 32 {
		return r, errMalformed
	}
	r.caps = binary.LittleEndian.Uint32(p)
	if r.caps&mysql.CLIENT_PROTOCOL_41 == 0 {
		return r, wire.Errorf(mysql.ER_NOT_SUPPORTED_AUTH_MODE, "Client does not support authentication protocol requested by server; consider upgrading MySQL client")
	}
	r.collation = p[8]
	rest := p[32:]
	user, rest, ok := bytes.Cut(rest, []byte{0})
	if !ok {
		return r, errMalformed
	}
	r.user = string(user)
	switch {
	case r.caps&mysql.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA != 0:
		auth, n, _, ok := wire.LenEncString(rest)
		if !ok {
			return r, errMalformed
		}
		r.auth, rest = auth, rest[n:]
	case r.caps&mysql.CLIENT_SECURE_CONNECTION != 0:
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return r, errMalformed
		}
		r.auth, rest = rest[1:1+int(rest[0])], rest[1+int(rest[0]):]
	default:
		auth, after, ok := bytes.Cut(rest, []byte{0})
		if !ok {
			return r, errMalformed
		}
		r.auth, rest = auth, after
	}
	if r.caps&mysql.CLIENT_CONNECT_WITH_DB != 0 && len(rest) > 0 {
		db, after, _ := bytes.Cut(rest, []byte{0})
		r.db, rest = string(db), after
	}
	if r.caps&mysql.CLIENT_PLUGIN_AUTH != 0 && len(rest) > 0 {
		plugin, after, _ := bytes.Cut(rest, []byte{0})
		r.plugin, rest = string(plugin), after
	}
	_ = rest // connection attributes are not used
	return r, nil
}

// newScramble returns 20 random bytes without NUL, which clients treat as
// the end of the scramble.
func newScramble() []byte {
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = b[i]&0x7f | 1
		if b[i] == '$' {
			b[i] = '#'
		}
	}
	return b
}

func greeting(version string, connID uint32, scramble []byte, plugin string, caps uint32) []byte {
	p := []byte{10}
	p = append(append(p, version...), 0)
	p = binary.LittleEndian.AppendUint32(p, connID)
	p = append(append(p, scramble[:8]...), 0)
	p = binary.LittleEndian.AppendUint16(p, uint16(caps&0xffff))
	p = append(p, 45) // utf8mb4_general_ci
	p = binary.LittleEndian.AppendUint16(p, mysql.SERVER_STATUS_AUTOCOMMIT)
	p = binary.LittleEndian.AppendUint16(p, uint16(caps>>16))
	p = append(p, byte(len(scramble)+1))
	p = append(p, make([]byte, 10)...)
	p = append(append(p, scramble[8:]...), 0)
	return append(append(p, plugin...), 0)
}

// checkAuth verifies a scramble response for plugin against the user's
// password. Empty passwords expect an empty response. A user whose
// password is given as mysql_native_password's stored hash can only be
// checked with that plugin (the caller switches such clients to it).
func checkAuth(plugin string, scramble, resp []byte, user *rules.User) bool {
	if h := user.NativeHash(); h != nil {
		return plugin == pluginNative && checkNativeHash(scramble, resp, h)
	}
	if user.SHA2Hash() != nil {
		// Fast authentication needs SHA256(SHA256(password)), which the
		// stored SHA-256-crypt hash cannot give: such a user always goes
		// through full authentication (checkClearText).
		return false
	}
	password := user.Password
	if password == "" {
		return emptyAuth(resp)
	}
	var want []byte
	switch plugin {
	case pluginNative:
		want = mysql.CalcPassword(scramble, []byte(password))
	case pluginCachingSHA2:
		want = mysql.CalcCachingSha2Password(scramble, password)
	default:
		return false
	}
	return len(resp) == len(want) && subtle.ConstantTimeCompare(resp, want) == 1
}

// emptyAuth is a client's answer for an empty password: nothing, or one
// zero byte.
func emptyAuth(resp []byte) bool {
	return len(resp) == 0 || (len(resp) == 1 && resp[0] == 0)
}

// checkNativeHash verifies a mysql_native_password response without the
// clear text, as the server does with the hash in mysql.user. The client
// sends SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); XOR with the second
// half (computable from the stored hash) gives back SHA1(pw), whose SHA1
// must be the stored hash.
func checkNativeHash(scramble, resp, stored []byte) bool {
	if len(resp) != sha1.Size || len(stored) != sha1.Size {
		return false
	}
	h := sha1.New()
	h.Write(scramble)
	h.Write(stored)
	stage1 := h.Sum(nil)
	for i := range stage1 {
		stage1[i] ^= resp[i]
	}
	got := sha1.Sum(stage1)
	return subtle.ConstantTimeCompare(got[:], stored) == 1
}

// checkClearText compares a password the client sent in full (over TLS,
// or encrypted with the proxy's RSA key) with the user's.
func checkClearText(pw []byte, user *rules.User) bool {
	if h := user.SHA2Hash(); h != nil {
		return checkSHA2Hash(pw, h)
	}
	if h := user.NativeHash(); h != nil {
		s1 := sha1.Sum(pw)
		s2 := sha1.Sum(s1[:])
		return subtle.ConstantTimeCompare(s2[:], h) == 1
	}
	return subtle.ConstantTimeCompare(pw, []byte(user.Password)) == 1
}

// loginError is a refused login: the client gets err after the failure
// delay, and the refusal counts towards blocking its host when counted.
type loginError struct {
	err     error
	counted bool
}

func (e *loginError) Error() string { return e.err.Error() }
func (e *loginError) Unwrap() error { return e.err }

func refused(format string, code uint16, args ...any) *loginError {
	return &loginError{err: wire.Errorf(code, format, args...), counted: true}
}

// authenticate runs the login exchange on a fresh client connection and
// returns the client's handshake and its user. A *loginError is a refusal
// the caller still has to send; other errors have been answered already
// or leave nothing to answer (the client went away).
func (s *Server) authenticate(c *wire.Conn, connID uint32, host string, ip net.IP) (handshakeResponse, *rules.User, error) {
	r := s.currentRules()
	plugin := r.AuthPlugin
	scramble := newScramble()
	caps := uint32(serverCaps)
	if s.tls != nil {
		caps |= mysql.CLIENT_SSL
	}
	if err := c.WritePacket(greeting(r.ServerVersion, connID, scramble, plugin, caps)); err != nil {
		return handshakeResponse{}, nil, err
	}
	if err := c.Flush(); err != nil {
		return handshakeResponse{}, nil, err
	}
	p, err := c.ReadPacket()
	if err != nil {
		return handshakeResponse{}, nil, err
	}
	secure := false
	if len(p) == 32 && binary.LittleEndian.Uint32(p)&mysql.CLIENT_SSL != 0 {
		if s.tls == nil {
			err := wire.Errorf(mysql.ER_NOT_SUPPORTED_AUTH_MODE, "shardgate: TLS is not configured on this proxy")
			c.WriteError(err)
			return handshakeResponse{}, nil, err
		}
		tc := tls.Server(c.Raw(), s.tls)
		if err := tc.Handshake(); err != nil {
			return handshakeResponse{}, nil, err
		}
		c.Upgrade(tc)
		secure = true
		if p, err = c.ReadPacket(); err != nil {
			return handshakeResponse{}, nil, err
		}
	}
	if !secure && r.TLS != nil && r.TLS.Require {
		err := wire.Errorf(mysql.ER_ACCESS_DENIED_ERROR, "shardgate: this proxy requires TLS; connect with SSL")
		c.WriteError(err)
		return handshakeResponse{}, nil, err
	}
	hs, err := parseHandshakeResponse(p)
	if err != nil {
		var me *mysql.MyError
		if !errors.As(err, &me) {
			err = wire.Errorf(mysql.ER_HANDSHAKE_ERROR, "Bad handshake")
		}
		return hs, nil, &loginError{err: err, counted: true}
	}
	user, known := r.User(hs.user)
	if known && !user.AllowsHost(ip) {
		// As in MariaDB, an account exists only for its hosts: from
		// anywhere else the user is unknown (1045), which tells a guesser
		// nothing about the password.
		known = false
	}
	clientPlugin := hs.plugin
	if clientPlugin == "" {
		clientPlugin = pluginNative
	}
	switchTo := ""
	if clientPlugin != pluginNative && clientPlugin != pluginCachingSHA2 {
		switchTo = plugin // a plugin we do not speak: ask for ours
	}
	if known && user.NativeHash() != nil && clientPlugin != pluginNative {
		// caching_sha2_password needs SHA256 of the password, which the
		// stored SHA1(SHA1()) hash cannot give: the client must answer
		// with mysql_native_password, as MariaDB asks of an account that
		// uses that plugin.
		switchTo = pluginNative
	}
	if known && user.SHA2Hash() != nil && clientPlugin != pluginCachingSHA2 {
		// The stored hash is caching_sha2_password's: only its full
		// authentication, which hands the proxy the password itself, can
		// be checked against it.
		switchTo = pluginCachingSHA2
	}
	if switchTo != "" {
		scramble = newScramble()
		sw := append([]byte{wire.HeaderEOF}, switchTo...)
		sw = append(append(append(sw, 0), scramble...), 0)
		if err := c.WritePacket(sw); err != nil {
			return hs, nil, err
		}
		if err := c.Flush(); err != nil {
			return hs, nil, err
		}
		if hs.auth, err = c.ReadPacket(); err != nil {
			return hs, nil, err
		}
		hs.auth = append([]byte(nil), hs.auth...)
		clientPlugin = switchTo
	}
	ok := known && checkAuth(clientPlugin, scramble, hs.auth, user)
	if !ok && known && clientPlugin == pluginCachingSHA2 && (secure || user.SHA2Hash() != nil) {
		// Full authentication, as MySQL asks when its cache has no entry:
		// over TLS the client sends the password itself; without TLS it
		// sends it encrypted with the server's RSA public key (only to a
		// user whose stored hash leaves no other way: a clear-text user
		// whose fast authentication failed gave a wrong password).
		pw, err := s.fullAuth(c, secure, scramble)
		if err != nil {
			return hs, nil, err
		}
		ok = pw != nil && checkClearText(pw, user)
		hs.auth = pw
		if hs.auth == nil {
			hs.auth = []byte{0} // something was sent: "using password: YES"
		}
		clientPlugin = "full"
	}
	if !ok {
		usingPassword := "NO"
		if len(hs.auth) > 0 {
			usingPassword = "YES"
		}
		return hs, nil, refused("Access denied for user '%s'@'%s' (using password: %s)", mysql.ER_ACCESS_DENIED_ERROR, hs.user, host, usingPassword)
	}
	if clientPlugin == pluginCachingSHA2 && !emptyAuth(hs.auth) {
		// Fast authentication succeeded. An empty password's empty
		// response gets the OK alone, as from MySQL: libmariadb's plugin
		// sends nothing and reads no AuthMoreData then, and takes a
		// fast-auth packet in place of the OK for a lost connection (2013).
		if err := c.WritePacket([]byte{authMoreData, fastAuthOK}); err != nil {
			return hs, nil, err
		}
	}
	return hs, user, nil
}

// caching_sha2_password's AuthMoreData messages (the packet starts 0x01).
const (
	authMoreData     = 0x01
	fastAuthOK       = 0x03
	performFullAuth  = 0x04
	requestPublicKey = 0x02
)

// fullAuth runs caching_sha2_password's full authentication and returns
// the password the client sent; nil when what it sent cannot be read as
// one (the login then fails as with a wrong password). Over TLS the
// password comes as clear text. Without TLS the client either asks for
// the proxy's public key (a packet 0x02) and then sends, or sends right
// away with a key it was given, the password with its NUL terminator XORed
// with the scramble and encrypted with RSA-OAEP (SHA-1), as MySQL expects.
func (s *Server) fullAuth(c *wire.Conn, secure bool, scramble []byte) ([]byte, error) {
	if err := c.WritePacket([]byte{authMoreData, performFullAuth}); err != nil {
		return nil, err
	}
	if err := c.Flush(); err != nil {
		return nil, err
	}
	p, err := c.ReadPacket()
	if err != nil {
		return nil, err
	}
	if secure {
		return bytes.TrimRight(p, "\x00"), nil
	}
	key, err := s.rsaKey()
	if err != nil {
		return nil, &loginError{err: wire.Errorf(mysql.ER_ACCESS_DENIED_ERROR, "shardgate: no RSA key for caching_sha2_password without TLS (%v); connect with TLS", err)}
	}
	if len(p) == 1 && p[0] == requestPublicKey {
		if err := c.WritePacket(append([]byte{authMoreData}, key.publicPEM...)); err != nil {
			return nil, err
		}
		if err := c.Flush(); err != nil {
			return nil, err
		}
		if p, err = c.ReadPacket(); err != nil {
			return nil, err
		}
	}
	return decryptPassword(key.private, p, scramble), nil
}

// decryptPassword undoes a client's RSA-encrypted password: OAEP with
// SHA-1, then XOR with the scramble, then the NUL terminator removed. nil
// when the bytes are not such a message.
func decryptPassword(key *rsa.PrivateKey, msg, scramble []byte) []byte {
	plain, err := rsa.DecryptOAEP(sha1.New(), nil, key, msg, nil)
	if err != nil || len(plain) == 0 || len(scramble) == 0 {
		return nil
	}
	for i := range plain {
		plain[i] ^= scramble[i%len(scramble)]
	}
	if plain[len(plain)-1] != 0 {
		return nil
	}
	return plain[:len(plain)-1]
}
