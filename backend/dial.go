package backend

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// Dial connects and logs in to a MariaDB server.
func Dial(addr string, cfg DialConfig) (*Conn, error) { return dial(addr, cfg, nil) }

// dial is Dial that shows the connection to link, when not nil, once the
// TCP connection exists and before the login, which may wait on a frozen
// server: the pool lists it then, so that Pool.Cut can close it.
func dial(addr string, cfg DialConfig, link func(*Conn)) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, cfg.ConnectTimeout)
	if err != nil {
		return nil, unreachable(addr, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	c := &Conn{Conn: wire.NewConn(nc, 16<<10), addr: addr, foundRows: cfg.FoundRows, readTimeout: cfg.ReadTimeout, vars: map[string]string{}}
	if link != nil {
		link(c)
	}
	nc.SetDeadline(time.Now().Add(cfg.ConnectTimeout))
	if err := c.handshake(cfg); err != nil {
		nc.Close()
		var me *mysql.MyError
		if errors.As(err, &me) {
			return nil, err
		}
		return nil, unreachable(addr, c.cutError(err))
	}
	nc.SetDeadline(time.Time{})
	c.lastUsed = time.Now()
	return c, nil
}

func unreachable(addr string, err error) error {
	return &UnreachableError{Addr: addr, Err: err}
}

func (c *Conn) handshake(cfg DialConfig) error {
	p, err := c.ReadPacket()
	if err != nil {
		return err
	}
	if len(p) > 0 && p[0] == wire.HeaderERR {
		return wire.ParseError(p)
	}
	hs, err := parseServerHandshake(p)
	if err != nil {
		return err
	}
	c.ThreadID, c.Version = hs.connID, hs.version
	caps := backendCaps
	if cfg.FoundRows {
		caps |= mysql.CLIENT_FOUND_ROWS
	}
	auth := mysql.CalcPassword(hs.scramble, []byte(cfg.Password))
	resp := binary.LittleEndian.AppendUint32(nil, caps)
	resp = binary.LittleEndian.AppendUint32(resp, 1<<30)
	resp = append(resp, DefaultCollationID)
	resp = append(resp, make([]byte, 23)...)
	resp = append(append(resp, cfg.User...), 0)
	resp = append(resp, byte(len(auth)))
	resp = append(resp, auth...)
	resp = append(append(resp, "mysql_native_password"...), 0)
	if err := c.WritePacket(resp); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return err
	}
	for {
		p, err = c.ReadPacket()
		if err != nil {
			return err
		}
		switch {
		case len(p) == 0:
			return errors.New("empty packet during login")
		case p[0] == wire.HeaderOK:
			return nil
		case p[0] == wire.HeaderERR:
			return wire.ParseError(p)
		case p[0] == wire.HeaderEOF: // auth switch request
			plugin, data, _ := bytes.Cut(p[1:], []byte{0})
			if string(plugin) != "mysql_native_password" {
				return fmt.Errorf("backend asks for auth plugin %q; shardgate logs in with mysql_native_password", plugin)
			}
			data = bytes.TrimSuffix(data, []byte{0})
			if err := c.WritePacket(mysql.CalcPassword(data, []byte(cfg.Password))); err != nil {
				return err
			}
			if err := c.Flush(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected packet 0x%02x during login", p[0])
		}
	}
}

// VersionID turns a server's version string into the number executable
// comments are compared with: "10.11.19-MariaDB-0+deb12u1" (or, as MariaDB
// 10.x announces itself, "5.5.5-10.11.19-MariaDB…") is 101119. It is 0 when
// the string does not start with major.minor.patch.
func VersionID(s string) int {
	s = strings.TrimPrefix(s, "5.5.5-")
	id := 0
	for part := 0; part < 3; part++ {
		n, digits := 0, 0
		for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
			n = n*10 + int(s[digits]-'0')
			digits++
		}
		if digits == 0 || digits > 2 && part > 0 || n > 99 {
			return 0
		}
		id = id*100 + n
		s = s[digits:]
		if part < 2 {
			if !strings.HasPrefix(s, ".") {
				return 0
			}
			s = s[1:]
		}
	}
	return id
}

type serverHandshake struct {
	version  string
	connID   uint32
	scramble []byte
}

func parseServerHandshake(p []byte) (serverHandshake, error) {
	var hs serverHandshake
	bad := errors.New("malformed server handshake")
	if len(p) < 1 || p[0] != 10 {
		return hs, bad
	}
	ver, rest, ok := bytes.Cut(p[1:], []byte{0})
	if !ok || len(rest) < 4+8+1+2+1+2+2+1+10 {
		return hs, bad
	}
	hs.version = string(ver)
	hs.connID = binary.LittleEndian.Uint32(rest)
	hs.scramble = append([]byte{}, rest[4:12]...)
	rest = rest[4+8+1+2+1+2+2:]
	authLen := int(rest[0])
	rest = rest[1+10:]
	n := max(13, authLen-8)
	if len(rest) < n {
		return hs, bad
	}
	hs.scramble = append(hs.scramble, bytes.TrimRight(rest[:n], "\x00")...)
	return hs, nil
}
