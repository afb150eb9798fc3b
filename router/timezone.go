package router

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/wire"
)

// zoneSource tells the planner the clock of a session's time_zone, for
// NOW() and its kin as an hourly table's hour (planner/timefuncs.go):
// offsets directly, names from the proxy's time zone database, and SYSTEM
// (and the server default, when a session never set time_zone) from what
// the default schema's primary reports: its @@global.time_zone, and for
// SYSTEM its @@system_time_zone and current offset from UTC. Those are
// read when first needed and again once they are a minute old, so a
// daylight-saving change of the servers' zone is seen within a minute
// even when the proxy cannot name that zone; when the proxy's own local
// zone has the same name and offset (servers and proxy set up alike), it
// is used, with its rules, and the change is seen at once.
type zoneSource struct {
	primary *backend.Backend
	now     func() time.Time
	local   *time.Location

	mu      sync.Mutex
	learned time.Time
	global  string
	system  *time.Location
	named   map[string]*time.Location
}

// zoneRefresh is how long what the server said about its zones is kept.
const zoneRefresh = time.Minute

func newZoneSource(primary *backend.Backend, now func() time.Time) *zoneSource {
	return &zoneSource{primary: primary, now: now, local: time.Local, named: map[string]*time.Location{}}
}

// Zone implements planner.ZoneSource.
func (z *zoneSource) Zone(name string) (*time.Location, error) {
	if loc, ok := planner.FixedZone(name); ok {
		return loc, nil
	}
	if name == "" || strings.EqualFold(name, "SYSTEM") {
		global, system, err := z.server()
		if err != nil {
			return nil, err
		}
		if name == "" && !strings.EqualFold(global, "SYSTEM") {
			return z.Zone(global)
		}
		return system, nil
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if loc, ok := z.named[name]; ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || len(z.named) >= 1024 {
		return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: the time zone %q is not known to the proxy, so it cannot evaluate the time function that gives an hourly table's hour; write the value as a literal", name)
	}
	z.named[name] = loc
	return loc, nil
}

// server reads (or recalls) the server's default time zone and its SYSTEM
// zone.
func (z *zoneSource) server() (string, *time.Location, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	now := z.now()
	if z.system != nil && now.Sub(z.learned) < zoneRefresh && now.After(z.learned) {
		return z.global, z.system, nil
	}
	conn, err := z.primary.Get(false, 0)
	if err != nil {
		return "", nil, err
	}
	// CONVERT_TZ to SYSTEM: the offset whatever time_zone the pooled
	// connection carries.
	res, _, err := conn.Query("SELECT @@global.time_zone, @@system_time_zone, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), CONVERT_TZ(UTC_TIMESTAMP(), '+00:00', 'SYSTEM'))")
	if err != nil {
		z.primary.Discard(conn)
		return "", nil, err
	}
	z.primary.Put(conn)
	if len(res.Rows) != 1 || len(res.Rows[0]) != 3 || res.Rows[0][0] == nil || res.Rows[0][1] == nil || res.Rows[0][2] == nil {
		return "", nil, fmt.Errorf("shardgate: %s did not say its time zone", z.primary.Describe())
	}
	offset, err := strconv.Atoi(*res.Rows[0][2])
	if err != nil {
		return "", nil, fmt.Errorf("shardgate: %s said its time zone's offset is %q", z.primary.Describe(), *res.Rows[0][2])
	}
	z.global = *res.Rows[0][0]
	z.system = systemZone(z.local, *res.Rows[0][1], offset, now)
	z.learned = now
	return z.global, z.system, nil
}

// systemZone is the servers' SYSTEM zone: local (with its daylight-saving
// rules) when it has the name and offset the server reports now; a fixed
// zone of that name and offset otherwise.
func systemZone(local *time.Location, name string, offset int, now time.Time) *time.Location {
	if lname, loff := now.In(local).Zone(); lname == name && loff == offset {
		return local
	}
	return time.FixedZone(name, offset)
}
