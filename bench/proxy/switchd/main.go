// Command switchd runs one ripcord proxy.Switch in front of one upstream, for
// the proxy benchmark (bench/proxy/run.sh).
package main

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/ripcord/ripcord/internal/proxy"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18084", "listen address (loopback)")
	upstream := flag.String("upstream", "http://127.0.0.1:18081", "upstream URL")
	pprof := flag.String("pprof", "", "serve net/http/pprof on this address (empty: off)")
	procs := flag.Int("procs", 0, "GOMAXPROCS (0: Go's default, one per core)")
	shadow := flag.String("shadow", "", "copy every GET to this URL as a shadow version (bench/shadow; empty: off)")
	flag.Parse()
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}
	if *pprof != "" {
		go http.ListenAndServe(*pprof, nil)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	sw := proxy.New(proxy.Options{Service: "bench", Logger: log})
	defer sw.Close()
	if err := sw.SetVersion("v1", *upstream); err != nil {
		log.Error("switchd", "err", err)
		os.Exit(1)
	}
	if _, err := sw.Activate("v1"); err != nil {
		log.Error("switchd", "err", err)
		os.Exit(1)
	}
	if *shadow != "" {
		if err := sw.SetVersion("v2", *shadow); err != nil {
			log.Error("switchd", "err", err)
			os.Exit(1)
		}
		if err := sw.StartShadow("v1", "v2"); err != nil {
			log.Error("switchd", "err", err)
			os.Exit(1)
		}
		defer func() { log.Info("switchd shadow", "counts", sw.ShadowCounts()) }()
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("switchd", "err", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := sw.Serve(ctx, ln); err != nil {
		log.Error("switchd", "err", err)
		os.Exit(1)
	}
}
