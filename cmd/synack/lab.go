package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/synack/synack/lab"
)

const labUsage = `usage: synack lab [--addr 127.0.0.1:8080]

Serves the interactive lab on a local web page and prints its URL: pick a
case, click a segment to lose, duplicate or delay it and watch TCP recover,
step through time, change the settings, compare two runs, share the
experiment as a link. Everything is served from this binary. Stops on
interrupt.

flags:
`

func runLab(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	fs.Usage = func() { fmt.Fprint(stderr, labUsage); fs.PrintDefaults() }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "synack lab: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		fmt.Fprintf(stderr, "synack lab: --addr %q: %v\n", *addr, err)
		fs.Usage()
		return errUsage
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: lab.Handler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute}
	fmt.Fprintf(stdout, "synack lab: http://%s/\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return nil
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
