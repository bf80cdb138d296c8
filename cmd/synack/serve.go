package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/synack/synack/internal/apps"
	"github.com/synack/synack/netconn"
)

const serveUsage = `usage: synack serve --tun IFACE --addr IP[/PREFIX] [--addr IP6[/PREFIX]] --port N --app APP [options]

Runs synack on a TUN device (created if it does not exist) and serves an
application on port N of its addresses. The kernel's side of the device
(its address, link up) is configured by whoever created it, for example,
inside a network namespace:

  ip netns add demo
  ip -n demo tuntap add dev tun0 mode tun
  ip -n demo addr add 192.0.2.1/24 dev tun0
  ip -n demo link set tun0 up
  ip netns exec demo synack serve --tun tun0 --addr 192.0.2.2/24 --port 80 --app http &
  ip netns exec demo curl http://192.0.2.2/

Applications:
  echo     write back what is read; close after the peer's FIN
  discard  read and drop
  close    close at once after accepting (the server closes first)
  sink     accept and never read, so the window fills and closes
  http     a small net/http page

SIGINT or SIGTERM closes every connection, prints the counters and exits.

--trace FILE records the connections as they happen on the device: every
segment sent and received with its wall-clock time, each state change with
its rule, the timers set, fired and cancelled, and the application's calls.
A .json (or .jsonl) FILE gets JSON lines as they happen, the first saying
when the trace's clock started; .txt, .svg and .html get the pictures of
synack scenario and synack draw, written at exit, of the last --trace-keep
connections (or those --trace-filter picks by port or address).
With SYNACK_MEMPROFILE=FILE in the environment, SIGUSR1 writes the bytes of
heap in use by the stack's packages and by the application's to FILE, and
a heap profile to FILE.pprof (every allocation is sampled then: slower).

options:
`

// apps that serve and dial run on a connection.
var serveApps = apps.Names

// runServe is `synack serve`.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
	}
	var nf netFlags
	nf.register(fs)
	var tf traceFlags
	tf.register(fs)
	port := fs.Int("port", 0, "TCP port to listen on (required)")
	app := fs.String("app", "", "application: echo, discard, close, sink or http (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "serve", fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	cfg, prefixes, err := nf.config()
	if err != nil {
		return usageError(stderr, "serve", err)
	}
	if *port < 1 || *port > 65535 {
		return usageError(stderr, "serve", errors.New("--port must be between 1 and 65535"))
	}
	if !oneOf(*app, serveApps) {
		return usageError(stderr, "serve", fmt.Errorf("--app must be one of echo, discard, close, sink, http, not %q", *app))
	}
	if err := tf.check(); err != nil {
		return usageError(stderr, "serve", err)
	}
	log := nf.logger(stderr)

	tr, err := tf.open("serve", "synack")
	if err != nil {
		return err
	}
	if tr != nil {
		cfg.Observer = tr.observer(prefixes)
	}
	n, err := nf.open(cfg, prefixes)
	if err != nil {
		tr.close()
		return err
	}
	ka, kac := nf.keepAlive()
	lc := netconn.ListenConfig{Stack: n.st, KeepAlive: ka, KeepAliveConfig: kac, Backlog: cfg.Backlog}
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort("", strconv.Itoa(*port)))
	if err != nil {
		n.close()
		tr.close()
		return err
	}
	if tr != nil {
		ln = tracedListener{Listener: ln, t: tr}
	}
	attrs := []any{"tun", n.dev.Name(), "mtu", n.dev.MTU(), "offload", n.dev.Offload(), "port", *port, "app", *app}
	for _, p := range prefixes {
		attrs = append(attrs, "addr", p.String())
	}
	if n.faulty != nil {
		attrs = append(attrs, "loss", nf.loss, "dup", nf.dup, "reorder", nf.reorder, "seed", n.seed)
	}
	log.Info("serving", attrs...)

	apps.Serve(ctx, ln, *app, log)
	n.drain(2 * time.Second)
	fmt.Fprintf(stdout, "synack serve: counters of %s\n", n.dev.Name())
	n.printCounters(stdout)
	err = n.close()
	if terr := tr.close(); err == nil {
		err = terr
	}
	return err
}

func oneOf(s string, list []string) bool {
	for _, v := range list {
		if s == v {
			return true
		}
	}
	return false
}
