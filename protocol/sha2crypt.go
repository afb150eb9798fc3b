package protocol

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"hash"

	"github.com/shardgate/shardgate/rules"
)

// SHA-256-crypt, the digest of caching_sha2_password's stored form (MySQL's
// my_crypt_genhash): Ulrich Drepper's SHA-crypt with SHA-256
// (https://www.akkadia.org/drepper/SHA-crypt.txt), except that MySQL takes
// a salt of up to 20 bytes where crypt(3) stops at 16. No maintained Go
// module offers it with that salt length, and the algorithm is short, so it
// lives here; its tests pin it to crypt(3)'s published vectors and to
// hashes MySQL produced.

// sha256Crypt is the 43-character digest of password with salt after rounds
// rounds.
func sha256Crypt(password, salt []byte, rounds int) string {
	h := sha256.New()
	sum := func() []byte { return h.Sum(nil) }
	reset := func(parts ...[]byte) hash.Hash {
		h.Reset()
		for _, p := range parts {
			h.Write(p)
		}
		return h
	}

	// Digest B: password, salt, password.
	reset(password, salt, password)
	b := sum()

	// Digest A: password, salt, then B repeated over the password's
	// length, then for each bit of that length (lowest first) B for a 1,
	// the password for a 0.
	reset(password, salt)
	writeRepeated(h, b, len(password))
	for n := len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(password)
		}
	}
	a := sum()

	// P: the digest of the password written once per byte of it, repeated
	// over the password's length.
	reset()
	for range password {
		h.Write(password)
	}
	p := repeatTo(sum(), len(password))

	// S: the digest of the salt written 16 + A[0] times, repeated over the
	// salt's length.
	reset()
	for i := 0; i < 16+int(a[0]); i++ {
		h.Write(salt)
	}
	s := repeatTo(sum(), len(salt))

	c := a
	for r := 0; r < rounds; r++ {
		reset()
		if r&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if r%3 != 0 {
			h.Write(s)
		}
		if r%7 != 0 {
			h.Write(p)
		}
		if r&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = sum()
	}
	return cryptBase64(c)
}

// writeRepeated writes d over and over, n bytes in all.
func writeRepeated(h hash.Hash, d []byte, n int) {
	for ; n > len(d); n -= len(d) {
		h.Write(d)
	}
	h.Write(d[:n])
}

// repeatTo is d repeated (and cut) to n bytes.
func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}

// sha256CryptOrder is the order SHA-256-crypt takes the digest's bytes in,
// three at a time (the last group has two: 31, 30), for its base-64
// encoding.
var sha256CryptOrder = [11][3]int{
	{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14}, {15, 25, 5},
	{6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}, {-1, 31, 30},
}

// cryptBase64 encodes a SHA-256-crypt digest: each group of three bytes is
// a 24-bit number written as four characters, lowest six bits first (the
// last group, 16 bits, as three).
func cryptBase64(d []byte) string {
	const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := make([]byte, 0, 43)
	for _, g := range sha256CryptOrder {
		w, n := 0, 4
		if g[0] >= 0 {
			w = int(d[g[0]]) << 16
		} else {
			n = 3
		}
		w |= int(d[g[1]])<<8 | int(d[g[2]])
		for i := 0; i < n; i++ {
			out = append(out, alphabet[w&0x3f])
			w >>= 6
		}
	}
	return string(out)
}

// checkSHA2Hash compares a clear-text password with caching_sha2_password's
// stored form, as the server does in full authentication.
func checkSHA2Hash(password []byte, stored *rules.SHA2Hash) bool {
	got := sha256Crypt(password, stored.Salt, stored.Rounds)
	return subtle.ConstantTimeCompare([]byte(got), []byte(stored.Digest)) == 1
}

// rsaKeyPair is the proxy's key for caching_sha2_password's full
// authentication without TLS: clients ask for the public half and send the
// password encrypted with it.
type rsaKeyPair struct {
	private   *rsa.PrivateKey
	publicPEM []byte
}

// rsaKeyBits is the size MySQL's own generated keys have.
const rsaKeyBits = 2048

// rsaKey is the server's key pair, generated in memory the first time a
// client needs it (MySQL's caching_sha2_password_auto_generate_rsa_keys);
// it lives as long as the server, so every client of one proxy process is
// given the same public key.
func (s *Server) rsaKey() (*rsaKeyPair, error) {
	s.rsa.once.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, rsaKeyBits)
		if err != nil {
			s.rsa.err = err
			return
		}
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			s.rsa.err = err
			return
		}
		s.rsa.key = &rsaKeyPair{private: key, publicPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
	})
	return s.rsa.key, s.rsa.err
}
