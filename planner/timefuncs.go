package planner

import (
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// Time functions as the hour value of an hourly table (README: Sharding,
// "Time functions"). The proxy evaluates them once, as MariaDB would for
// the session, and writes the result into the statement as a literal, so
// that the row's value and its bucket agree: NOW() and its synonyms
// (CURRENT_TIMESTAMP, LOCALTIME, LOCALTIMESTAMP, SYSDATE) with an optional
// precision, UTC_TIMESTAMP, and DATE_ADD / DATE_SUB / ADDDATE / SUBDATE
// (also written `x + INTERVAL n unit`, `x - INTERVAL n unit`) of those by
// a whole number of MICROSECOND … YEAR.
//
// MariaDB's NOW() is the wall clock of the session's time_zone at the
// statement's start; interval arithmetic works on that wall clock, not on
// the instant (NOW() + INTERVAL 1 HOUR across a daylight-saving change is
// one hour later on the clock, an hour that may not exist); MONTH, QUARTER
// and YEAR keep the day, clamped to the month's last day.

// ZoneSource tells which clock a session's time_zone names. name is the
// session's time_zone as the server reported it ("+05:30", "SYSTEM",
// "Europe/Berlin"), "" when the session never set it (the server's
// default).
type ZoneSource interface {
	Zone(name string) (*time.Location, error)
}

// SetZones gives the planner its ZoneSource; without one, "" and SYSTEM
// are UTC.
func (pl *Planner) SetZones(z ZoneSource) { pl.zones = z }

// nowFuncs are NOW() and its synonyms.
var nowFuncs = map[string]bool{"now": true, "current_timestamp": true, "localtime": true, "localtimestamp": true, "sysdate": true}

// dateArith are the functions adding (sign 1) or subtracting an interval.
var dateArith = map[string]int{"date_add": 1, "adddate": 1, "date_sub": -1, "subdate": -1}

// wallTime is a DATETIME value: a wall clock (held as UTC, so that
// arithmetic never meets a time zone) and its fractional digits.
type wallTime struct {
	t    time.Time
	prec int
}

func (w wallTime) String() string {
	layout := "2006-01-02 15:04:05"
	if w.prec > 0 {
		layout += "." + strings.Repeat("0", w.prec)
	}
	return w.t.Format(layout)
}

// nowLiteral evaluates e when it is a time expression the proxy knows (ok),
// as a literal, with now as the statement's start; err when its time zone
// cannot be known.
func (pl *Planner) nowLiteral(e ast.ExprNode, f Facts, now time.Time) (lit string, ok bool, err error) {
	w, ok, err := pl.timeValue(e, f, now)
	if !ok || err != nil {
		return "", ok, err
	}
	return w.String(), true, nil
}

func (pl *Planner) timeValue(e ast.ExprNode, f Facts, now time.Time) (wallTime, bool, error) {
	switch x := e.(type) {
	case *ast.ParenthesesExpr:
		return pl.timeValue(x.Expr, f, now)
	case *ast.FuncCallExpr:
		name := x.FnName.L
		switch {
		case nowFuncs[name] || name == "utc_timestamp":
			prec, ok := precision(x.Args)
			if !ok {
				return wallTime{}, false, nil
			}
			loc := time.UTC
			if name != "utc_timestamp" {
				var err error
				if loc, err = pl.zone(f.TimeZone); err != nil {
					return wallTime{}, true, err
				}
			}
			return clock(now, loc, prec), true, nil
		case dateArith[name] != 0 && len(x.Args) == 3:
			unit, ok := x.Args[2].(*ast.TimeUnitExpr)
			if !ok {
				return wallTime{}, false, nil
			}
			text, null, ok := parser.Literal(x.Args[1])
			if !ok || null {
				return wallTime{}, false, nil
			}
			n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
			if err != nil {
				return wallTime{}, false, nil // 1.5 HOUR, '1:30' HOUR_MINUTE: the server's rounding rules
			}
			base, ok, err := pl.timeValue(x.Args[0], f, now)
			if !ok || err != nil {
				return base, ok, err
			}
			out, ok := addInterval(base, n*int64(dateArith[name]), unit.Unit)
			return out, ok, nil
		}
	}
	return wallTime{}, false, nil
}

// precision reads NOW(p)'s p (0 without it); ok is false for anything but
// a literal 0 … 6 (the server refuses more with 1426).
func precision(args []ast.ExprNode) (int, bool) {
	switch len(args) {
	case 0:
		return 0, true
	case 1:
		v, null, ok := parser.Literal(args[0])
		if !ok || null || len(v) != 1 || v[0] < '0' || v[0] > '6' {
			return 0, false
		}
		return int(v[0] - '0'), true
	}
	return 0, false
}

// clock is now on loc's wall clock, cut to prec fractional digits.
func clock(now time.Time, loc *time.Location, prec int) wallTime {
	l := now.In(loc)
	div := 1
	for i := prec; i < 9; i++ {
		div *= 10
	}
	ns := l.Nanosecond() / div * div
	return wallTime{t: time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), ns, time.UTC), prec: prec}
}

// addInterval adds n units to w as MariaDB's DATE_ADD does; ok is false
// for units the proxy leaves to the server (compound ones) and for
// results outside DATETIME's years 1000 … 9999 (the server gives NULL).
func addInterval(w wallTime, n int64, unit ast.TimeUnitType) (wallTime, bool) {
	var d time.Duration
	months := int64(0)
	switch unit {
	case ast.TimeUnitMicrosecond:
		d = time.Microsecond
		w.prec = 6
	case ast.TimeUnitSecond:
		d = time.Second
	case ast.TimeUnitMinute:
		d = time.Minute
	case ast.TimeUnitHour:
		d = time.Hour
	case ast.TimeUnitDay:
		d = 24 * time.Hour
	case ast.TimeUnitWeek:
		d = 7 * 24 * time.Hour
	case ast.TimeUnitMonth:
		months = n
	case ast.TimeUnitQuarter:
		months = 3 * n
	case ast.TimeUnitYear:
		months = 12 * n
	default:
		return w, false
	}
	if months != 0 {
		if months > 12*10000 || months < -12*10000 {
			return w, false
		}
		t := w.t
		y, m := t.Year(), int64(t.Month())-1+months
		y += int(floorDiv(m, 12))
		mon := time.Month(m - floorDiv(m, 12)*12 + 1)
		day := t.Day()
		if last := time.Date(y, mon+1, 0, 0, 0, 0, 0, time.UTC).Day(); day > last {
			day = last
		}
		w.t = time.Date(y, mon, day, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	} else if d != 0 {
		// Whole days by the calendar, the rest as a duration: n units
		// may be far more than a time.Duration holds.
		perDay := int64(24 * time.Hour / d)
		if perDay == 0 {
			perDay = 1 // WEEK: d is 7 days
		}
		days, rem := n/perDay, n%perDay
		if d > 24*time.Hour {
			if n > 10000*53 || n < -10000*53 {
				return w, false
			}
			days, rem = n*int64(d/(24*time.Hour)), 0
		}
		// Beyond ±10,000 years every result is out of range anyway.
		if days > 10000*366 || days < -10000*366 {
			return w, false
		}
		w.t = w.t.AddDate(0, 0, int(days)).Add(time.Duration(rem) * d)
	}
	if y := w.t.Year(); y < 1000 || y > 9999 {
		return w, false
	}
	return w, true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// zone is the clock the session's time_zone names; lit is Facts.TimeZone.
func (pl *Planner) zone(lit string) (*time.Location, error) {
	name := lit
	if v, ok := parser.ValueText(lit); ok {
		name = v
	}
	if loc, ok := FixedZone(name); ok {
		return loc, nil
	}
	if pl.zones != nil {
		return pl.zones.Zone(name)
	}
	if name == "" || strings.EqualFold(name, "SYSTEM") {
		return time.UTC, nil
	}
	return nil, unknownZone(name)
}

func unknownZone(name string) error {
	return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: the time zone %q is not known to the proxy, so it cannot evaluate the time function that gives an hourly table's hour; write the value as a literal", name)
}

// FixedZone reads a time_zone written as an offset, "+05:30" or
// "-08:00" (MariaDB accepts -12:59 … +13:00, and so does this).
func FixedZone(name string) (*time.Location, bool) {
	if len(name) < 4 || (name[0] != '+' && name[0] != '-') {
		return nil, false
	}
	h, m, ok := strings.Cut(name[1:], ":")
	if !ok {
		return nil, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 13 || mm < 0 || mm > 59 || len(m) != 2 {
		return nil, false
	}
	secs := hh*3600 + mm*60
	if name[0] == '-' {
		secs = -secs
	}
	return time.FixedZone(name, secs), true
}
