// Package apps is the application code of `synack serve` and `synack
// dial --app` (cmd/synack), and of the TUN benchmark's other servers
// (bench/cmd/gvisor-serve, bench/cmd/kernel-serve): gVisor's netstack and
// the kernel's sockets run exactly the same code on their listeners — the
// same io.Copy for echo, the same net/http page, the same log lines per
// connection — so a ratio of two servers measures the stacks and not the
// applications.
package apps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Names are the applications, as `synack serve --app` takes them.
var Names = []string{"echo", "discard", "close", "sink", "http"}

// Valid reports whether app is one of Names.
func Valid(app string) bool {
	for _, n := range Names {
		if n == app {
			return true
		}
	}
	return false
}

// Serve serves app on ln until ctx is done, then closes ln and every
// connection, as `synack serve` does, and returns.
func Serve(ctx context.Context, ln net.Listener, app string, log *slog.Logger) {
	s := &server{log: log, app: app, conns: make(map[net.Conn]struct{})}
	served := make(chan struct{})
	var hs *http.Server
	if app == "http" {
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
			in, out, err := Run(ctx, s.app, c)
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

// closeAll closes every connection still open.
func (s *server) closeAll() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}

// closeWriter is a connection that can half-close: *netconn.Conn,
// *gonet.TCPConn and *net.TCPConn all are.
type closeWriter interface{ CloseWrite() error }

// Run runs app on c until it is done, and closes c. It returns the
// bytes read and written. ctx ends the apps that would wait forever
// (sink).
func Run(ctx context.Context, app string, c net.Conn) (in, out int64, err error) {
	defer c.Close()
	switch app {
	case "echo":
		// Write back what is read; after the peer's FIN, our FIN.
		cw := &countWriter{w: c}
		in, err = io.Copy(cw, c)
		out = cw.n
		if err == nil {
			err = c.(closeWriter).CloseWrite()
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
