package protocol

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// userWith is a user from a rules file with that password (clear text or
// a stored hash), compiled as the proxy compiles it.
func userWith(t testing.TB, password string) *rules.User {
	t.Helper()
	r, err := rules.Parse("t.yaml", []byte(fmt.Sprintf("users: [{name: u, password: %q}]\nbackend: {user: b}\nclusters: {main: {primary: 127.0.0.1:1}}\nschemas: {shop: {cluster: main}}\n", password)))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := r.User("u")
	return u
}

// nativeHashOf is what mysql.user holds for mysql_native_password:
// "*" and the upper-case hex of SHA1(SHA1(password)), as PASSWORD() gives.
func nativeHashOf(pw string) string {
	s1 := sha1.Sum([]byte(pw))
	s2 := sha1.Sum(s1[:])
	return "*" + strings.ToUpper(fmt.Sprintf("%x", s2))
}

func clientResponse(caps uint32, user string, auth []byte, db, plugin string) []byte {
	p := binary.LittleEndian.AppendUint32(nil, caps)
	p = binary.LittleEndian.AppendUint32(p, 1<<24)
	p = append(p, 33)
	p = append(p, make([]byte, 23)...)
	p = append(append(p, user...), 0)
	p = append(append(p, byte(len(auth))), auth...)
	if caps&mysql.CLIENT_CONNECT_WITH_DB != 0 {
		p = append(append(p, db...), 0)
	}
	return append(append(p, plugin...), 0)
}

func TestParseHandshakeResponse(t *testing.T) {
	scramble := newScramble()
	auth := mysql.CalcCachingSha2Password(scramble, "secret")
	caps := mysql.CLIENT_PROTOCOL_41 | mysql.CLIENT_SECURE_CONNECTION | mysql.CLIENT_PLUGIN_AUTH | mysql.CLIENT_CONNECT_WITH_DB
	hs, err := parseHandshakeResponse(clientResponse(caps, "app", auth, "shop", pluginCachingSHA2))
	if err != nil {
		t.Fatal(err)
	}
	if hs.user != "app" || hs.db != "shop" || hs.plugin != pluginCachingSHA2 || hs.collation != 33 {
		t.Fatalf("parsed %+v", hs)
	}
	if !checkAuth(pluginCachingSHA2, scramble, hs.auth, userWith(t, "secret")) || checkAuth(pluginCachingSHA2, scramble, hs.auth, userWith(t, "other")) {
		t.Fatal("caching_sha2 verification wrong")
	}
	native := mysql.CalcPassword(scramble, []byte("secret"))
	if !checkAuth(pluginNative, scramble, native, userWith(t, "secret")) || checkAuth(pluginNative, scramble, native[:19], userWith(t, "secret")) {
		t.Fatal("native verification wrong")
	}
	if !checkAuth(pluginNative, scramble, nil, userWith(t, "")) || checkAuth(pluginNative, scramble, native, userWith(t, "")) {
		t.Fatal("empty password verification wrong")
	}
	if _, err := parseHandshakeResponse(clientResponse(0, "app", nil, "", "")); err == nil {
		t.Fatal("pre-4.1 client accepted")
	}
	for _, n := range []int{0, 10, 31, 32, 36, 40} {
		full := clientResponse(caps, "app", auth, "shop", pluginNative)
		if n < len(full) {
			parseHandshakeResponse(full[:n]) // must not panic
		}
	}
}

// A user whose password is the stored native hash logs in with the
// clear text's native scramble, never with the hash itself as password,
// nor with caching_sha2_password (which the hash cannot check).
func TestNativeHashVerification(t *testing.T) {
	// MySQL's documented PASSWORD('password').
	if h := nativeHashOf("password"); h != "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19" {
		t.Fatalf("nativeHashOf(password) = %s", h)
	}
	appHash := nativeHashOf("app")
	hashed := userWith(t, appHash)
	if hashed.NativeHash() == nil {
		t.Fatal("stored form not recognised")
	}
	scramble := newScramble()
	cases := []struct {
		name   string
		plugin string
		resp   []byte
		want   bool
	}{
		{"right password", pluginNative, mysql.CalcPassword(scramble, []byte("app")), true},
		{"wrong password", pluginNative, mysql.CalcPassword(scramble, []byte("apq")), false},
		{"the hash as password", pluginNative, mysql.CalcPassword(scramble, []byte(appHash)), false},
		{"other scramble", pluginNative, mysql.CalcPassword(newScramble(), []byte("app")), false},
		{"short", pluginNative, mysql.CalcPassword(scramble, []byte("app"))[:19], false},
		{"empty", pluginNative, nil, false},
		{"caching_sha2", pluginCachingSHA2, mysql.CalcCachingSha2Password(scramble, "app"), false},
	}
	for _, c := range cases {
		if got := checkAuth(c.plugin, scramble, c.resp, hashed); got != c.want {
			t.Errorf("%s: checkAuth = %v, want %v", c.name, got, c.want)
		}
	}
	// A clear-text password that merely looks like a hash is not one.
	if u := userWith(t, appHash[:40]); u.NativeHash() != nil {
		t.Fatal("40 characters taken for a hash")
	}
	// Full authentication over TLS sends the clear text.
	if !checkClearText([]byte("app"), hashed) || checkClearText([]byte(appHash), hashed) || checkClearText([]byte("app"), userWith(t, "apq")) {
		t.Fatal("clear text against the hash")
	}
}

func TestScrambleHasNoNUL(t *testing.T) {
	for i := 0; i < 1000; i++ {
		for _, b := range newScramble() {
			if b == 0 {
				t.Fatal("NUL in scramble")
			}
		}
	}
}

// FuzzClientInput decodes arbitrary client handshakes: errors are fine,
// panics are not.
func FuzzClientInput(f *testing.F) {
	caps := mysql.CLIENT_PROTOCOL_41 | mysql.CLIENT_SECURE_CONNECTION | mysql.CLIENT_PLUGIN_AUTH | mysql.CLIENT_CONNECT_WITH_DB
	f.Add(clientResponse(caps, "app", []byte("0123456789abcdef0123"), "shop", pluginNative))
	f.Add(clientResponse(caps|mysql.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA, "u", []byte{0xfc, 0xff}, "", ""))
	pw, hashed := userWith(f, "pw"), userWith(f, nativeHashOf("pw"))
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := parseHandshakeResponse(data)
		if err == nil {
			checkAuth(pluginCachingSHA2, newScramble(), hs.auth, pw)
			checkAuth(pluginNative, newScramble(), hs.auth, pw)
			checkAuth(pluginNative, newScramble(), hs.auth, hashed)
		}
		cutNUL(data)
	})
}

// Clients get the response format backends are asked for (wire.PassthroughCaps),
// TLS or not: result packets pass through unchanged.
func TestServerCapsMatchBackends(t *testing.T) {
	for _, caps := range []uint32{serverCaps, serverCaps | mysql.CLIENT_SSL} {
		if caps&wire.FormatCaps != wire.PassthroughCaps {
			t.Errorf("offered format capabilities %#x, backends are asked for %#x", caps&wire.FormatCaps, wire.PassthroughCaps)
		}
	}
}
