-- Runs the sysbench test named by $SB_TEST (oltp_read_write, oltp_insert, ...)
-- and counts, by error code, the errors sysbench retries (deadlocks 1213,
-- lock wait timeouts 1205, 1020: --mysql-ignore-errors). sysbench itself
-- reports only their total; scripts/sysbench.sh sums the per-thread lines
-- printed here ("retried <code> <count>") to tell them apart.
local test = os.getenv("SB_TEST") or error("SB_TEST is not set")
require(test)

local retried = {}
local restart = sysbench.hooks.before_restart_event
function sysbench.hooks.before_restart_event(err)
   local code = err.sql_errno or 0
   retried[code] = (retried[code] or 0) + 1
   if restart then restart(err) end
end

local done = thread_done
function thread_done()
   for code, n in pairs(retried) do
      print(string.format("retried %d %d", code, n))
   end
   if done then done() end
end
