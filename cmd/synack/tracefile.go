package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/synack/synack/stack"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/trace/record"
)

// traceFlags are serve's and dial's --trace options: the connections on
// the TUN device recorded as they happen, by trace/record's StackObserver,
// and written as JSON lines (streamed), a text ladder, SVG or HTML.
type traceFlags struct {
	file, format, filter string
	keep                 int
}

func (f *traceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.file, "trace", "", "record the connections to FILE: JSON lines (.json, .jsonl), a text ladder (.txt), SVG (.svg) or HTML (.html) by its extension")
	fs.StringVar(&f.format, "trace-format", "", "the --trace format, whatever the extension: json, text, svg or html")
	fs.IntVar(&f.keep, "trace-keep", 16, "text, svg and html --trace: draw the last N connections (JSON streams them all)")
	fs.StringVar(&f.filter, "trace-filter", "", "--trace only the connections with an end at this port (80 or :80), address, or address:port")
}

// Per connection, a picture keeps at most this many events; the rest are
// counted and said to be left out.
const traceConnEvents = 20000

// check validates the flags (a usage error) and works out the format.
func (f *traceFlags) check() error {
	if f.file == "" {
		if f.format != "" || f.filter != "" {
			return errors.New("--trace-format and --trace-filter go with --trace FILE")
		}
		return nil
	}
	if f.format == "" {
		switch strings.ToLower(filepath.Ext(f.file)) {
		case ".json", ".jsonl":
			f.format = "json"
		case ".txt", ".text":
			f.format = "text"
		case ".svg":
			f.format = "svg"
		case ".html", ".htm":
			f.format = "html"
		default:
			return fmt.Errorf("--trace %s: the extension does not say the format (.json, .txt, .svg, .html); give --trace-format", f.file)
		}
	}
	switch f.format {
	case "json", "text", "svg", "html":
	default:
		return fmt.Errorf("--trace-format must be json, text, svg or html, not %q", f.format)
	}
	if f.keep < 1 {
		return fmt.Errorf("--trace-keep must be at least 1, not %d", f.keep)
	}
	if _, err := parseTraceFilter(f.filter); err != nil {
		return err
	}
	return nil
}

// parseTraceFilter makes --trace-filter a test on a connection's ends.
func parseTraceFilter(s string) (func(a, b netip.AddrPort) bool, error) {
	if s == "" {
		return func(netip.AddrPort, netip.AddrPort) bool { return true }, nil
	}
	bad := fmt.Errorf("--trace-filter %q: want a port (80, :80), an address (192.0.2.1) or both (192.0.2.1:80)", s)
	if p, err := strconv.ParseUint(strings.TrimPrefix(s, ":"), 10, 16); err == nil {
		port := uint16(p)
		if port == 0 {
			return nil, bad
		}
		return func(a, b netip.AddrPort) bool { return a.Port() == port || b.Port() == port }, nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return func(a, b netip.AddrPort) bool { return a == ap || b == ap }, nil
	}
	if ad, err := netip.ParseAddr(s); err == nil {
		return func(a, b netip.AddrPort) bool { return a.Addr() == ad || b.Addr() == ad }, nil
	}
	return nil, bad
}

// tracer records one stack's connections into the --trace file.
type tracer struct {
	f       *os.File
	w       *bufio.Writer
	format  string
	keep    int
	match   func(a, b netip.AddrPort) bool
	rec     *record.Recorder
	host    string
	command string
	epoch   time.Time

	mu    sync.Mutex
	err   error
	conns map[string]*connTrace // by "local→remote"
	next  int                   // numbers connections in order of their first event
}

// connTrace is one connection's events, kept for a picture.
type connTrace struct {
	n      int
	events []trace.Event
	left   int // events past traceConnEvents, not kept
	last   time.Time
	remote string
}

// openTrace creates the --trace file and a recorder writing to it, or
// returns nil without --trace. host names synack's side in the trace.
func (f *traceFlags) open(command, host string) (*tracer, error) {
	if f.file == "" {
		return nil, nil
	}
	out, err := os.Create(f.file)
	if err != nil {
		return nil, err
	}
	match, _ := parseTraceFilter(f.filter)
	t := &tracer{f: out, w: bufio.NewWriterSize(out, 64<<10), format: f.format, keep: f.keep, match: match,
		host: host, command: command, epoch: time.Now(), conns: map[string]*connTrace{}}
	t.rec = record.New(t.epoch)
	t.rec.Live = true
	t.rec.Keep = t.take
	if t.format == "json" {
		// The first line says when the trace's clock started: each
		// event's "t" is nanoseconds after it.
		t.jsonLine(trace.Event{Host: host, Event: trace.KindNote, Text: "synack " + command + " trace from " + t.epoch.Format(time.RFC3339Nano)})
	}
	return t, nil
}

// observer is the stack observer to set in the stack's Config.
func (t *tracer) observer(addrs []netip.Prefix) stack.Observer {
	var as []netip.Addr
	for _, p := range addrs {
		as = append(as, p.Addr())
	}
	return t.rec.StackObserver(t.host, as...)
}

// ends splits a trace event's conn, "local→remote".
func ends(conn string) (a, b netip.AddrPort, ok bool) {
	l, r, ok := strings.Cut(conn, "→")
	if !ok {
		return a, b, false
	}
	a, err1 := netip.ParseAddrPort(l)
	b, err2 := netip.ParseAddrPort(r)
	return a, b, err1 == nil && err2 == nil
}

// take is the recorder's Keep: every event goes to the file (JSON) or to
// its connection's picture; the recorder itself keeps none.
func (t *tracer) take(e *trace.Event) bool {
	a, b, ok := ends(e.Conn)
	if ok && !t.match(a, b) {
		return false
	}
	if !ok && t.format != "json" {
		return false // a listener's own events, or a note
	}
	if t.format == "json" {
		t.jsonLine(*e)
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.conns[e.Conn]
	if c == nil {
		if len(t.conns) >= t.keep {
			t.evict()
		}
		t.next++
		c = &connTrace{n: t.next, remote: b.Addr().String()}
		t.conns[e.Conn] = c
	}
	c.last = t.epoch.Add(e.T)
	if len(c.events) >= traceConnEvents {
		c.left++
		return false
	}
	c.events = append(c.events, *e)
	return false
}

// evict drops the connection heard from longest ago.
func (t *tracer) evict() {
	var oldest string
	var at time.Time
	for k, c := range t.conns {
		if oldest == "" || c.last.Before(at) {
			oldest, at = k, c.last
		}
	}
	delete(t.conns, oldest)
}

func (t *tracer) jsonLine(e trace.Event) {
	b, err := e.MarshalJSON()
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		b = append(b, '\n')
		_, err = t.w.Write(b)
	}
	if err != nil && t.err == nil {
		t.err = err
	}
}

// user records an application's call on conn c.
func (t *tracer) user(c net.Conn, call string, n int, err error) {
	if t == nil {
		return
	}
	t.rec.User(time.Now(), t.host, c.LocalAddr().String()+"→"+c.RemoteAddr().String(), call, n, err)
}

// close writes the pictures (text, SVG, HTML) and closes the file.
func (t *tracer) close() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.format != "json" {
		t.draw()
	}
	if err := t.w.Flush(); err != nil && t.err == nil {
		t.err = err
	}
	if err := t.f.Close(); err != nil && t.err == nil {
		t.err = err
	}
	return t.err
}

func (t *tracer) draw() {
	var cs []*connTrace
	names := map[*connTrace]string{}
	for k, c := range t.conns {
		cs = append(cs, c)
		names[c] = k
	}
	// In the order they began.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].n < cs[j-1].n; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
	desc := fmt.Sprintf("recorded by synack %s from %s (times are seconds since then)", t.command, t.epoch.Format("2006-01-02 15:04:05.000000 MST"))
	var pics []picture
	for i, c := range cs {
		ev := c.events
		if c.left > 0 {
			ev = append(ev, trace.Event{T: ev[len(ev)-1].T, Event: trace.KindNote,
				Text: fmt.Sprintf("%d later events of this connection not kept (--trace as JSON keeps them all)", c.left)})
		}
		o := trace.Options{Title: fmt.Sprintf("#%d %s", c.n, strings.Replace(names[c], "→", " → ", 1)), Description: desc,
			Hosts: []string{t.host, c.remote}}
		var b strings.Builder
		var err error
		switch t.format {
		case "text":
			if i > 0 {
				b.WriteString("\n")
			}
			err = trace.Text(&b, ev, o)
		case "svg":
			err = trace.SVG(&b, ev, o)
		case "html":
			err = trace.HTML(&b, ev, o)
		}
		if err != nil && t.err == nil {
			t.err = err
		}
		pics = append(pics, picture{title: o.Title, body: b.String()})
	}
	var err error
	switch {
	case len(pics) == 0:
		_, err = fmt.Fprintf(t.w, "synack %s: no connection recorded\n", t.command)
	case t.format == "text" || len(pics) == 1:
		for _, p := range pics {
			if _, err = io.WriteString(t.w, p.body); err != nil {
				break
			}
		}
	case t.format == "svg":
		err = stackSVG(t.w, pics)
	case t.format == "html":
		err = pageHTML(t.w, "synack "+t.command+" --trace "+t.f.Name(), pics, t.next, "en")
	}
	if err != nil && t.err == nil {
		t.err = err
	}
}

// tracedListener records each accepted connection, and its
// application's calls.
type tracedListener struct {
	net.Listener
	t *tracer
}

func (l tracedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	l.t.user(c, "accept", 0, nil)
	return &tracedConn{Conn: c, t: l.t}, nil
}

// tracedConn records an application's calls on a connection: what it
// reads and writes (bytes), its half-close and close.
type tracedConn struct {
	net.Conn
	t *tracer
}

func (c *tracedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.t.user(c.Conn, "read", n, nil)
	}
	return n, err
}

func (c *tracedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.t.user(c.Conn, "send", n, err)
	return n, err
}

func (c *tracedConn) CloseWrite() error {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok {
		return errors.ErrUnsupported
	}
	err := cw.CloseWrite()
	c.t.user(c.Conn, "close-write", 0, err)
	return err
}

func (c *tracedConn) Close() error {
	c.t.user(c.Conn, "close", 0, nil)
	return c.Conn.Close()
}
