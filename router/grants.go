package router

import (
	"errors"
	"log/slog"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// CheckBackendGrants warns when the backend user can read the mysql
// schema (password hashes, privileges) on the default schema's primary:
// the recommended grant (README, "Security model") gives it only the
// declared schemas. It reports whether the warning was logged.
func (rt *Router) CheckBackendGrants(log *slog.Logger) bool {
	snap := rt.Snapshot()
	b := snap.Clusters[snap.Rules.DefaultSchema().Cluster].Primary
	conn, err := b.Get(false, 0)
	if err != nil {
		log.Warn("could not check the backend user's grants", "backend", b.Addr, "err", err)
		return false
	}
	_, _, err = conn.Query("SELECT 1 FROM mysql.user LIMIT 0")
	b.Put(conn)
	var me *mysql.MyError
	switch {
	case err == nil:
		log.Warn("the backend user can read mysql.* (password hashes and privileges): grant it only the declared schemas and SLAVE MONITOR (see README, Security model)",
			"backend", b.Addr, "user", snap.Rules.Backend.User)
		return true
	case errors.As(err, &me) && (me.Code == mysql.ER_TABLEACCESS_DENIED_ERROR || me.Code == mysql.ER_DBACCESS_DENIED_ERROR):
		return false
	default:
		log.Warn("could not check the backend user's grants", "backend", b.Addr, "err", err)
		return false
	}
}
