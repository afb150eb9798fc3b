package protocol

import (
	"crypto/sha1"
	"crypto/subtle"

	"github.com/shardgate/shardgate/rules"
)

// CheckPassword compares a clear-text password with a user's, in whichever
// form the rules give it (clear, mysql_native_password's or
// caching_sha2_password's stored hash): for logins that carry the password
// itself, such as the admin HTTP interface's basic authentication.
func CheckPassword(u *rules.User, password string) bool {
	if h := u.NativeHash(); h != nil {
		first := sha1.Sum([]byte(password))
		second := sha1.Sum(first[:])
		return subtle.ConstantTimeCompare(second[:], h) == 1
	}
	if h := u.SHA2Hash(); h != nil {
		return checkSHA2Hash([]byte(password), h)
	}
	return subtle.ConstantTimeCompare([]byte(password), []byte(u.Password)) == 1
}
