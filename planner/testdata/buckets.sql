-- Hourly buckets: conditions on the hour column prune buckets (known buckets: payments 2026112409-12, audit 2026112409).
-- "-- tables: N" before a statement: its plan touches exactly N physical tables.
-- "-- error" before a statement: planning it must fail.
-- tables: 4
SELECT * FROM payments WHERE created_at = '2026-11-24 10:30:00'
-- tables: 1
SELECT * FROM payments WHERE created_at = '2026-11-24 10:30:00' AND user_id = 7
-- tables: 8
SELECT * FROM payments WHERE created_at BETWEEN '2026-11-24 10:00:00' AND '2026-11-24 11:59:59'
-- tables: 4
SELECT * FROM payments WHERE created_at >= '2026-11-24 11:00:00' AND created_at < '2026-11-24 12:00:00'
-- tables: 8
SELECT * FROM payments WHERE created_at < '2026-11-24 11:00:00'
-- tables: 8
SELECT * FROM payments WHERE created_at > '2026-11-24 11:59:59'
-- tables: 1
SELECT * FROM payments WHERE created_at = '2026-11-25 00:00:00'
-- tables: 4
SELECT * FROM payments WHERE user_id = 7
SELECT * FROM payments
-- a value the proxy cannot read as a DATETIME: every bucket (never too few)
SELECT * FROM payments WHERE created_at = 'yesterday'
-- tables: 1
SELECT * FROM audit WHERE at = '2026-11-24 09:15:00'
-- the zero date's bucket is not known here: the template answers
-- tables: 1
SELECT * FROM audit WHERE at = '0000-00-00 00:00:00'
