// Command kernel-serve serves the applications of `synack serve`
// (bench/internal/apps, a copy of serve's) on the kernel's own TCP: a
// net.Listener in the namespace it runs in. It is the kernel column of
// cmd/tunbench, where it listens on one end of a veth pair.
//
//	ip netns exec NS kernel-serve --addr 192.0.2.2 --port 5001 --app echo
//
// The listen backlog is the namespace's net.core.somaxconn, as for any Go
// program; tunbench sets it to synack serve's default backlog, 128.
// SIGINT or SIGTERM closes every connection and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/synack/synack/internal/apps"
)

func main() {
	addr := flag.String("addr", "", "address to listen on, IP or IP/PREFIX (the prefix is ignored; default: every address)")
	port := flag.Int("port", 0, "TCP port to listen on (required)")
	app := flag.String("app", "", "application: "+strings.Join(apps.Names, ", ")+" (required)")
	flag.Parse()
	if *port < 1 || *port > 65535 || !apps.Valid(*app) {
		flag.Usage()
		fmt.Fprintln(os.Stderr, "kernel-serve: --port and --app are required")
		os.Exit(2)
	}
	host := ""
	if *addr != "" {
		if p, err := netip.ParsePrefix(*addr); err == nil {
			host = p.Addr().String()
		} else if a, err := netip.ParseAddr(*addr); err == nil {
			host = a.String()
		} else {
			fmt.Fprintf(os.Stderr, "kernel-serve: --addr %q: want IP or IP/PREFIX\n", *addr)
			os.Exit(2)
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Keepalive off, as on the other two servers.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kernel-serve:", err)
		os.Exit(1)
	}
	log.Info("serving", "addr", ln.Addr().String(), "port", *port, "app", *app)
	apps.Serve(ctx, ln, *app, log)
}
