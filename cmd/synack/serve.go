package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

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

options:
`

// apps that serve and dial run on a connection.
var serveApps = []string{"echo", "discard", "close", "sink", "http"}

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
	log := nf.logger(stderr)

	n, err := nf.open(cfg, prefixes)
	if err != nil {
		return err
	}
	ka, kac := nf.keepAlive()
	lc := netconn.ListenConfig{Stack: n.st, KeepAlive: ka, KeepAliveConfig: kac, Backlog: cfg.Backlog}
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort("", strconv.Itoa(*port)))
	if err != nil {
		n.close()
		return err
	}
	attrs := []any{"tun", n.dev.Name(), "mtu", n.dev.MTU(), "offload", n.dev.Offload(), "port", *port, "app", *app}
	for _, p := range prefixes {
		attrs = append(attrs, "addr", p.String())
	}
	if n.faulty != nil {
		attrs = append(attrs, "loss", nf.loss, "dup", nf.dup, "reorder", nf.reorder, "seed", n.seed)
	}
	log.Info("serving", attrs...)

	s := &server{log: log, app: *app, conns: make(map[net.Conn]struct{})}
	served := make(chan struct{})
	var hs *http.Server
	if *app == "http" {
		hs = &http.Server{
			Handler:           pageHandler(),
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			ConnState: func(c net.Conn, st http.ConnState) {
				switch st {
				case http.StateNew:
					log.Info("accepted", "remote", c.RemoteAddr().String())
				case http.StateClosed, http.StateHijacked:
					log.Info("closed", "remote", c.RemoteAddr().String())
				}
			},
		}
		go func() {
			defer close(served)
			hs.Serve(ln)
		}()
	} else {
		go func() {
			defer close(served)
			s.serve(ctx, ln)
		}()
	}

	<-ctx.Done()
	log.Info("shutting down")
	ln.Close()
	if hs != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		hs.Shutdown(sctx)
		cancel()
		hs.Close()
	}
	<-served
	s.closeAll()
	s.wg.Wait()
	n.drain(2 * time.Second)
	fmt.Fprintf(stdout, "synack serve: counters of %s\n", n.dev.Name())
	n.printCounters(stdout)
	return n.close()
}

func oneOf(s string, list []string) bool {
	for _, v := range list {
		if s == v {
			return true
		}
	}
	return false
}

// server runs an app on every accepted connection and keeps them, to
// close them at shutdown.
type server struct {
	log *slog.Logger
	app string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func (s *server) serve(ctx context.Context, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			remote := c.RemoteAddr().String()
			s.log.Info("accepted", "remote", remote, "local", c.LocalAddr().String())
			in, out, err := runApp(ctx, s.app, c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			attrs := []any{"remote", remote, "in", in, "out", out}
			if err != nil {
				attrs = append(attrs, "err", err.Error())
			}
			s.log.Info("closed", attrs...)
		}()
	}
}

// closeAll closes every connection still open (a FIN, or a RST where
// received data was never read, as a process exit does).
func (s *server) closeAll() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}

// runApp runs app on c until it is done, and closes c. It returns the
// bytes read and written. ctx ends the apps that would wait forever
// (sink).
func runApp(ctx context.Context, app string, c net.Conn) (in, out int64, err error) {
	defer c.Close()
	switch app {
	case "echo":
		// Write back what is read; after the peer's FIN, our FIN.
		cw := &countWriter{w: c}
		in, err = io.Copy(cw, c)
		out = cw.n
		if err == nil {
			err = c.(*netconn.Conn).CloseWrite()
		}
	case "discard":
		in, err = io.Copy(io.Discard, c)
	case "close":
	case "sink":
		<-ctx.Done()
	default:
		err = fmt.Errorf("unknown app %q", app)
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil // closed by the shutdown
	}
	return in, out, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// pageHandler serves the http app's page.
func pageHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html>
<title>synack</title>
<h1>Hello from synack</h1>
<p>This page came over a user-space TCP stack. You are %s; this is %s.</p>
`, r.RemoteAddr, r.Context().Value(http.LocalAddrContextKey))
	})
	return mux
}
