package protocol

import (
	"encoding/binary"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

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
	if !checkAuth(pluginCachingSHA2, scramble, hs.auth, "secret") || checkAuth(pluginCachingSHA2, scramble, hs.auth, "other") {
		t.Fatal("caching_sha2 verification wrong")
	}
	native := mysql.CalcPassword(scramble, []byte("secret"))
	if !checkAuth(pluginNative, scramble, native, "secret") || checkAuth(pluginNative, scramble, native[:19], "secret") {
		t.Fatal("native verification wrong")
	}
	if !checkAuth(pluginNative, scramble, nil, "") || checkAuth(pluginNative, scramble, native, "") {
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
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := parseHandshakeResponse(data)
		if err == nil {
			checkAuth(pluginCachingSHA2, newScramble(), hs.auth, "pw")
			checkAuth(pluginNative, newScramble(), hs.auth, "pw")
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
