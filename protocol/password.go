package protocol

import (
	"crypto/sha1"
	"crypto/subtle"
	"fmt"
	"net"
	"time"

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

// HTTPLogin checks a login that carries its password in clear outside the
// MySQL protocol (the admin HTTP interface's basic authentication) as a
// MySQL login is checked: a host blocked after max_connect_errors failures
// is refused, the user's hosts must admit the client, and a failure is
// counted against the host and paused (login_failure_delay), so the HTTP
// port is no faster a way to guess passwords than the MySQL one. The
// error says why, for the HTTP answer.
func (s *Server) HTTPLogin(remoteAddr, user, password string) (*rules.User, error) {
	r := s.currentRules()
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	if ip != nil {
		host = ip.String()
	}
	if s.guard.blocked(host, time.Now(), r.ConnectErrorsTimeout) {
		return nil, fmt.Errorf("host %s is blocked because of many connection errors; unblock with FLUSH HOSTS", host)
	}
	u, known := r.User(user)
	if !known || ip == nil || !u.AllowsHost(ip) || !CheckPassword(u, password) {
		s.router.Metrics.LoginFailed()
		s.guard.fail(host, time.Now(), r.MaxConnectErrors, r.ConnectErrorsTimeout)
		time.Sleep(r.LoginFailureDelay)
		return nil, fmt.Errorf("access denied for user %q from %s", user, host)
	}
	s.guard.succeed(host)
	return u, nil
}
