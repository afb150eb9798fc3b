// Command shardgate is a MySQL sharding and read/write-splitting proxy.
//
//	shardgate --rules FILE [--listen ADDR] [--admin-listen ADDR] [--log-format text|json] [-v]
//	shardgate admin [--addr ADDR] [--user U] [--password P] [--json] VIEW
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with --pprof
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/shardgate/shardgate/logs"
	"github.com/shardgate/shardgate/metrics"
	"github.com/shardgate/shardgate/protocol"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "admin" {
		os.Exit(adminCommand(os.Args[2:], os.Stdout))
	}
	rulesFile := flag.String("rules", "", "rules file (YAML); see the README")
	listen := flag.String("listen", "", "address to accept MySQL clients on (overrides listen: in the rules)")
	adminListen := flag.String("admin-listen", "", "address of /metrics and /admin/ (overrides admin_listen: in the rules)")
	verbose := flag.Bool("v", false, "log debug messages")
	logFormat := flag.String("log-format", "text", "log records as text (key=value) or json (one object per line), on stderr")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback address (profiling)")
	flag.Parse()
	if *rulesFile == "" {
		fmt.Fprintln(os.Stderr, "shardgate: --rules FILE is required")
		flag.Usage()
		os.Exit(2)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log, err := logs.New(os.Stderr, *logFormat, level)
	if err != nil {
		fmt.Fprintln(os.Stderr, "shardgate: -log-format:", err)
		os.Exit(2)
	}
	if *pprofAddr != "" {
		go func() { log.Error("pprof", "err", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	if err := run(*rulesFile, *listen, *adminListen, log); err != nil {
		fmt.Fprintln(os.Stderr, "shardgate:", err)
		os.Exit(1)
	}
}

func run(rulesFile, listen, adminListen string, log *slog.Logger) error {
	r, err := rules.Load(rulesFile)
	if err != nil {
		return err
	}
	// The command line's overrides apply to every version of the file.
	adjust := func(r *rules.Rules) {
		if listen != "" {
			r.Listen = listen
		}
		if adminListen != "" {
			r.AdminListen = adminListen
		}
	}
	adjust(r)
	logConfig(log, r)
	ln, err := net.Listen("tcp", r.Listen)
	if err != nil {
		return err
	}
	setGoMemoryLimit(r, log)
	rt := router.New(r, log)
	rt.Adjust = adjust
	rt.SetListenAddr(ln.Addr().String())
	var adminLn net.Listener
	if r.AdminListen != "" {
		rt.Metrics = metrics.New(rt.BackendStats)
		admin, err := net.Listen("tcp", r.AdminListen)
		if err != nil {
			return fmt.Errorf("admin_listen: %w", err)
		}
		// Served once the protocol server exists: /admin/ logins are
		// checked (and counted) by it.
		adminLn = admin
	}
	rt.Start()
	defer rt.Close()
	go rt.CheckBackendGrants(log) // a warning only; it must not delay clients
	raiseFDLimit(log)
	srv, err := protocol.NewServer(r, rt, log)
	if err != nil {
		return err
	}
	if adminLn != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", rt.Metrics.Handler())
		mux.Handle("/admin/", adminHandler(rt, srv))
		go http.Serve(adminLn, mux)
		log.Info("metrics on /metrics, the admin views on /admin/", "addr", adminLn.Addr().String())
	}
	lim := srv.Limits()
	limitLog := log.Info
	if lim.FDBound {
		limitLog = log.Warn
	}
	limitLog("client limits", "max_connections", lim.MaxConns, "max_preauth_connections", lim.MaxPreauth,
		"fd_limit", srv.FDLimit(), "fd_reserved_for_backends", lim.Reserve, "lowered_by_fd_limit", lim.FDBound,
		"connect_timeout", r.ConnectTimeout.String(), "net_write_timeout", r.NetWriteTimeout.String())
	if srv.FDLimit() <= lim.Reserve {
		log.Warn("the descriptor limit does not cover the backend pools; raise it (ulimit -n) or lower pool.max_open",
			"fd_limit", srv.FDLimit(), "needed_for_backends", lim.Reserve)
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	// SIGHUP reloads the rules file (RELOAD SHARDGATE RULES does the
	// same from SQL); a file that is invalid or would move rows leaves the
	// running rules serving.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("shardgate listening", "addr", ln.Addr().String(), "rules", rulesFile)
wait:
	for {
		select {
		case err := <-served:
			return err
		case <-hup:
			// Router.Reload logs the new version and its changes.
			if _, err := rt.ReloadFile("SIGHUP"); err != nil {
				log.Error("SIGHUP: reload refused", "err", err)
			}
		case sig := <-stop:
			log.Info("shutting down: no new clients, waiting for running statements", "signal", sig.String(),
				"clients", srv.Clients(), "timeout", r.ShutdownTimeout.String())
			break wait
		}
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), r.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("shutdown timeout: closed the remaining clients mid-statement", "err", err)
	}
	rt.Close() // health checks and the bucket task end; idle backend connections close
	log.Info("stopped", "took", time.Since(began).Round(time.Millisecond).String())
	return nil
}

// unaccountedMemory is the room Go's memory limit leaves beside
// memory_limit for what the budget does not count: the runtime, goroutines
// and connection buffers (about 30 KB per client), parse trees and the
// statement caches. The promise is RSS within memory_limit + 64 MiB; Go's
// limit does not cover the binary's own code and data (about 16 MiB
// resident at start), and the collector may overshoot its limit a little,
// so it gets 40 of the 64.
const unaccountedMemory = 40 << 20

// setGoMemoryLimit tells Go's garbage collector to keep the process under
// memory_limit plus unaccountedMemory (runtime/debug.SetMemoryLimit): the
// budget bounds what is live, and without this the heap may grow to twice
// the live size (GOGC=100) before garbage is collected. GOMEMLIMIT in the
// environment, when set, is the operator's choice and wins.
func setGoMemoryLimit(r *rules.Rules, log *slog.Logger) {
	goLimit := int64(r.MemoryLimit) + unaccountedMemory
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		goLimit = debug.SetMemoryLimit(-1) // read, not changed
		log.Info("GOMEMLIMIT set: the Go runtime's memory limit is not derived from memory_limit", "GOMEMLIMIT", env)
	} else {
		debug.SetMemoryLimit(goLimit)
	}
	log.Info("memory budget", "memory_limit", r.MemoryLimit.String(), "connection_memory_limit", r.ConnectionMemoryLimit.String(),
		"statement_memory_limit", r.StatementMemoryLimit.String(), "go_memory_limit", goLimit)
}

// raiseFDLimit raises the soft descriptor limit to the hard one, so that the
// client caps derived from it (protocol.ClientLimits) are as high as the
// system allows. The Go runtime does the same at start since Go 1.19; this
// keeps the intent visible and logs when it cannot.
func raiseFDLimit(log *slog.Logger) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		log.Warn("reading the descriptor limit", "err", err)
		return
	}
	if rl.Cur >= rl.Max {
		return
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		log.Warn("raising the descriptor limit", "err", err, "hard_limit", rl.Max)
	}
}
