// Command shardgate is a MySQL sharding and read/write-splitting proxy.
//
//	shardgate --rules FILE [--listen ADDR]
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
	"syscall"

	"github.com/shardgate/shardgate/metrics"
	"github.com/shardgate/shardgate/protocol"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/rules"
)

func main() {
	rulesFile := flag.String("rules", "", "rules file (YAML); see the README")
	listen := flag.String("listen", "", "address to accept MySQL clients on (overrides listen: in the rules)")
	verbose := flag.Bool("v", false, "log debug messages")
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
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *pprofAddr != "" {
		go func() { log.Error("pprof", "err", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	if err := run(*rulesFile, *listen, log); err != nil {
		fmt.Fprintln(os.Stderr, "shardgate:", err)
		os.Exit(1)
	}
}

func run(rulesFile, listen string, log *slog.Logger) error {
	r, err := rules.Load(rulesFile)
	if err != nil {
		return err
	}
	if listen != "" {
		r.Listen = listen
	}
	ln, err := net.Listen("tcp", r.Listen)
	if err != nil {
		return err
	}
	rt := router.New(r)
	rt.Log = log
	if r.AdminListen != "" {
		rt.Metrics = metrics.New(rt.BackendStats)
		admin, err := net.Listen("tcp", r.AdminListen)
		if err != nil {
			return fmt.Errorf("admin_listen: %w", err)
		}
		go http.Serve(admin, rt.Metrics.Handler())
		log.Info("metrics on /metrics", "addr", admin.Addr().String())
	}
	rt.Start()
	defer rt.Close()
	go rt.CheckBackendGrants(log) // a warning only; it must not delay clients
	srv, err := protocol.NewServer(r, rt, log)
	if err != nil {
		return err
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("shardgate listening", "addr", ln.Addr().String(), "rules", rulesFile)
	select {
	case err := <-served:
		return err
	case sig := <-stop:
		log.Info("shutting down: no new clients, waiting for running statements", "signal", sig.String(), "timeout", r.ShutdownTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("shutdown timeout: closed remaining clients", "err", err)
	}
	log.Info("stopped")
	return nil
}
