package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/synack/synack/internal/apps"
	"github.com/synack/synack/netconn"
)

const dialUsage = `usage: synack dial --tun IFACE --addr IP[/PREFIX] [--addr IP6[/PREFIX]] [--app APP] [options] HOST:PORT

Runs synack on a TUN device (created if it does not exist) and connects to HOST:PORT (an IP address and
a port). Without --app it works like nc: standard input goes to the
connection and the connection to standard output; EOF on standard input
half-closes the connection (a FIN), and dial exits once the peer has
closed its side. With --app, it runs one of the applications of serve on
the connection it opened:

  echo   write back what is read; close after the peer's FIN
  close  close at once after connecting
  sink   never read, so the window fills and closes; SIGINT ends it

The kernel's side of the device is configured by whoever created it.

--trace FILE records the connection as it happens, as serve's --trace does
(synack serve --help): JSON lines, or a text, SVG or HTML picture at exit.

options:
`

var dialApps = []string{"echo", "close", "sink"}

// runDial is `synack dial`.
func runDial(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dial", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), dialUsage)
		fs.PrintDefaults()
	}
	var nf netFlags
	nf.register(fs)
	var tf traceFlags
	tf.register(fs)
	app := fs.String("app", "", "application: echo, close or sink (default: like nc)")
	timeout := fs.Duration("timeout", 0, "give up connecting after this long (default: after the SYN retries)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, prefixes, err := nf.config()
	if err != nil {
		return usageError(stderr, "dial", err)
	}
	if *app != "" && !oneOf(*app, dialApps) {
		return usageError(stderr, "dial", fmt.Errorf("--app must be one of echo, close, sink, not %q", *app))
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "dial", errors.New("want one HOST:PORT to connect to"))
	}
	target := fs.Arg(0)
	ap, err := netip.ParseAddrPort(target)
	if err != nil || ap.Port() == 0 {
		return usageError(stderr, "dial", fmt.Errorf("%q: want IP:PORT, such as 192.0.2.1:80 or [2001:db8::1]:80", target))
	}
	if *timeout < 0 {
		return usageError(stderr, "dial", errors.New("--timeout must be positive"))
	}
	if err := tf.check(); err != nil {
		return usageError(stderr, "dial", err)
	}
	log := nf.logger(stderr)

	tr, err := tf.open("dial", "synack")
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
	// The trace is written once the stack has stopped.
	defer func() {
		if terr := tr.close(); terr != nil {
			log.Error("trace", "err", terr.Error())
		}
	}()
	ka, kac := nf.keepAlive()
	d := netconn.Dialer{Stack: n.st, Timeout: *timeout, KeepAlive: ka, KeepAliveConfig: kac}
	nc, err := d.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		n.close()
		return err
	}
	c := nc.(*netconn.Conn)
	var conn halfCloser = c
	if tr != nil {
		tr.user(c, "connect", 0, nil)
		conn = &tracedConn{Conn: c, t: tr}
	}
	attrs := []any{"tun", n.dev.Name(), "local", c.LocalAddr().String(), "remote", c.RemoteAddr().String()}
	if n.faulty != nil {
		attrs = append(attrs, "seed", n.seed)
	}
	log.Info("connected", attrs...)

	if *app != "" {
		in, out, err := apps.Run(ctx, *app, conn)
		attrs := []any{"in", in, "out", out}
		if err != nil {
			attrs = append(attrs, "err", err.Error())
		}
		log.Info("closed", attrs...)
		n.drain(2 * time.Second)
		if cerr := n.close(); err == nil {
			err = cerr
		}
		return err
	}

	err = pipe(ctx, conn, stdin, stdout)
	n.drain(2 * time.Second)
	if cerr := n.close(); err == nil {
		err = cerr
	}
	return err
}

// halfCloser is a connection that can half-close: a *netconn.Conn, or
// one whose calls --trace records.
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

// pipe copies stdin to c, half-closing c at stdin's EOF, and c to stdout
// until the peer's FIN; then it closes c. A signal (ctx) closes c at once.
func pipe(ctx context.Context, c halfCloser, stdin io.Reader, stdout io.Writer) error {
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, stdin)
		if err == nil {
			err = c.CloseWrite()
		}
		sent <- err
	}()
	recvd := make(chan error, 1)
	go func() {
		_, err := io.Copy(stdout, c)
		recvd <- err
	}()
	var err error
	select {
	case err = <-recvd:
		// The peer closed its side (or reset). What stdin had not sent
		// yet is dropped, as nc does.
		if err == nil {
			select {
			case serr := <-sent:
				if serr != nil && !errors.Is(serr, net.ErrClosed) {
					err = serr
				}
			default:
			}
		}
	case <-ctx.Done():
	}
	c.Close()
	return err
}
