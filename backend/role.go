package backend

// Writable reports whether, at its last health check, the server took
// writes as a primary does: read_only off and no replication thread
// running. A server an operator or a failover manager promoted is
// writable; a demoted, read-only or unreachable one is not.
func (b *Backend) Writable() bool { return b.writable.Load() }

// replicating: some replication thread of SHOW SLAVE STATUS runs.
func replicating(res *Result) bool {
	for i, col := range res.Columns {
		if col.Name != "Slave_IO_Running" && col.Name != "Slave_SQL_Running" {
			continue
		}
		for _, row := range res.Rows {
			if row[i] != nil && *row[i] != "No" {
				return true
			}
		}
	}
	return false
}
