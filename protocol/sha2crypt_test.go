package protocol

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
)

// crypt(3)'s own SHA-256-crypt vectors (Drepper's SHA-crypt.txt), with the
// salt as crypt(3) uses it (cut to 16 bytes) and the rounds it applies.
func TestSHA256CryptReferenceVectors(t *testing.T) {
	cases := []struct {
		password, salt string
		rounds         int
		want           string
	}{
		{"Hello world!", "saltstring", 5000, "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"Hello world!", "saltstringsaltst", 10000, "3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
		{"This is just a test", "toolongsaltstrin", 5000, "Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"},
		{"a very much longer text to encrypt.  This one even stretches over morethan one line.", "anotherlongsalts", 1400, "Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1"},
		{"we have a short salt string but not a short password", "short", 77777, "JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/"},
	}
	for _, c := range cases {
		if got := sha256Crypt([]byte(c.password), []byte(c.salt), c.rounds); got != c.want {
			t.Errorf("sha256Crypt(%q, %q, %d) = %s, want %s", c.password, c.salt, c.rounds, got, c.want)
		}
	}
}

// mysqlSHA2Hashes are caching_sha2_password stored forms produced by MySQL
// (20-byte salts, 5000 rounds), in the hex form SHOW CREATE USER prints
// with print_identified_with_as_hex, with their passwords. "secret" is the
// example of MySQL's manual (SHOW CREATE USER); the others are test data
// published with a MySQL password-hashing module (passwords of 1, 5 and 10
// characters).
var mysqlSHA2Hashes = []struct{ password, hex string }{
	{"secret", "244124303035240C7745603626313D613C4C10633E0A104B1E14135A544A7871567245614F4872344643546336546F624F6C7861326932752F45622F4F473273597557627139"},
	{"Q", "244124303035244c252a2c67315c114569252559331f07754629353652364f426d616f2e37674448416463457168724c4633335a6a4170524e6751797644484e2e7475483435"},
	{"9Aq7z", "24412430303524393f1133490363403c7e0d226340671546227a21663465675944704a746a7373697834783772706433524978586c7a4c4b3465655a6353542e3553497a6331"},
	{"CMunq1PrKH", "24412430303524264d150655454b0d53237b3a20647d1a1a6b27506d716f314c39446c666e30336f676c3444694e7562676152734e3446594a6a684535377330385a33397332"},
}

// Stored forms MySQL produced verify with their passwords and with nothing
// else, written as the hex literal or as the raw bytes (YAML \x escapes).
func TestSHA2HashVerifiesMySQLHashes(t *testing.T) {
	for _, h := range mysqlSHA2Hashes {
		raw, err := hex.DecodeString(h.hex)
		if err != nil {
			t.Fatal(err)
		}
		var escaped strings.Builder
		for _, c := range raw {
			fmt.Fprintf(&escaped, "\\x%02x", c)
		}
		for _, form := range []string{"0x" + h.hex, "0x" + strings.ToLower(h.hex), string(raw)} {
			r, err := rules.Parse("t.yaml", []byte(fmt.Sprintf("users: [{name: u, password: \"%s\"}]\nbackend: {user: b}\nclusters: {main: {primary: 127.0.0.1:1}}\nschemas: {shop: {cluster: main}}\n", yamlEscape(form))))
			if err != nil {
				t.Fatal(err)
			}
			u, _ := r.User("u")
			stored := u.SHA2Hash()
			if stored == nil || stored.Rounds != 5000 || len(stored.Salt) != 20 {
				t.Fatalf("%q: parsed %+v", h.password, stored)
			}
			if !checkClearText([]byte(h.password), u) {
				t.Errorf("%q does not verify against MySQL's hash %s", h.password, h.hex)
			}
			for _, wrong := range []string{"", h.password + "x", strings.ToUpper(h.password) + "!", h.password[1:], form} {
				if checkClearText([]byte(wrong), u) {
					t.Errorf("%q verifies against the hash of %q", wrong, h.password)
				}
			}
		}
	}
}

// yamlEscape writes s for a YAML double-quoted string.
func yamlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			fmt.Fprintf(&b, "\\x%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// A user whose password is caching_sha2_password's stored form logs in
// through full authentication without TLS: go-sql-driver asks for the
// proxy's RSA public key and sends the password encrypted with it. A wrong
// password, or the hash itself, is 1045; a client first answering with
// mysql_native_password is switched to caching_sha2_password.
func TestLoginSHA2StoredHash(t *testing.T) {
	h := mysqlSHA2Hashes[0]
	cert, key := writeTestCert(t)
	for _, c := range []struct{ name, plugin, params string }{
		{"caching_sha2_password", "caching_sha2_password", ""},
		{"switched from mysql_native_password", "mysql_native_password", ""},
		// Over TLS the client sends the password itself.
		{"TLS", "caching_sha2_password", "?tls=skip-verify"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := rules.Parse("t.yaml", []byte(fmt.Sprintf(`users: [{name: u, password: "0x%s"}, {name: app, password: app}]
backend: {user: app, password: app}
clusters: {main: {primary: 127.0.0.1:3310}}
schemas: {shop: {cluster: main}}
auth_plugin: %s
login_failure_delay: 1ms
tls: {cert: %s, key: %s}
`, h.hex, c.plugin, cert, key)))
			if err != nil {
				t.Fatal(err)
			}
			srv, err := NewServer(r, router.New(r, nil), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			addr := serveLoopback(t, srv)
			login := func(user, pw string) error {
				db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/%s", user, pw, addr, c.params))
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				return db.PingContext(context.Background()) // COM_PING: the proxy answers, no backend is used
			}
			if err := login("u", h.password); err != nil {
				t.Fatalf("right password: %v", err)
			}
			if err := login("u", h.password); err != nil {
				t.Fatalf("second login (same key): %v", err)
			}
			for _, wrong := range []string{"secreT", "", "0x" + h.hex} {
				var me *gomysql.MySQLError
				if err := login("u", wrong); !errors.As(err, &me) || me.Number != 1045 {
					t.Fatalf("password %q: %v, want 1045", wrong, err)
				}
			}
			// Clear-text users keep fast authentication.
			if err := login("app", "app"); err != nil {
				t.Fatalf("clear-text user: %v", err)
			}
		})
	}
}

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeTestCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shardgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// Without TLS only an RSA-encrypted password is read: the clear text a
// client would send over TLS (with or without its NUL) is no password at
// all there, so it can never be read off the wire.
func TestClearTextWithoutTLSRefused(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	scramble := []byte("0123456789abcdefghij")
	for _, msg := range [][]byte{[]byte("secret\x00"), []byte("secret"), {}, {0}} {
		if pw := decryptPassword(key, msg, scramble); pw != nil {
			t.Errorf("clear text %q read as password %q", msg, pw)
		}
	}
	// What a client sends: the password and its NUL, XORed with the
	// scramble, encrypted with OAEP (SHA-1).
	plain := []byte("secret\x00")
	for i := range plain {
		plain[i] ^= scramble[i%len(scramble)]
	}
	enc, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &key.PublicKey, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pw := decryptPassword(key, enc, scramble); string(pw) != "secret" {
		t.Fatalf("encrypted password read as %q", pw)
	}
}
