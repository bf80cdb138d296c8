package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// runDemo wires two tcp cores back to back in virtual time: A opens, sends
// data and closes first; B reads to end-of-file, then closes a second
// later, so the close takes four segments. Every segment, state change and
// timer is printed with the rule behind it.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	delay := fs.Duration("delay", 10*time.Millisecond, "one-way delay of the link")
	size := fs.Int("bytes", 3000, "bytes A sends to B")
	msl := fs.Duration("msl", 30*time.Second, "maximum segment lifetime (TIME-WAIT lasts 2*MSL)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: synack demo [flags]\n\nRuns a handshake, a transfer and a four-way close between two TCP\nendpoints in virtual time and prints every segment and state change.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 || *size < 0 || *delay < 0 || *msl <= 0 {
		fs.Usage()
		return errUsage
	}
	d := newDemo(*delay, tcp.Config{MSL: *msl})
	fmt.Fprintf(stdout, "synack demo: A (client, port 40000) and B (server, port 80), %v one-way delay, virtual time.\n", *delay)
	fmt.Fprintf(stdout, "Sequence numbers are relative to each side's ISN; \"why\" is the rule that acted.\n\n")

	a, b := d.a, d.b
	b.OpenPassive(d.now, tcp.OpenOptions{LocalPort: 80, ISS: 3_000_000_000})
	a.OpenActive(d.now, tcp.OpenOptions{LocalPort: 40000, RemotePort: 80, ISS: 1_234_567})
	d.run(time.Second)

	payload := []byte(strings.Repeat("synack!", *size/7+1)[:*size])
	d.note("A sends %d bytes", len(payload))
	for sent := 0; sent < len(payload); {
		n, err := a.Send(d.now, payload[sent:])
		if err != nil {
			return err
		}
		sent += n
		d.run(100 * time.Millisecond)
	}
	d.run(time.Second)
	got := d.drain(b)
	d.note("B's application read %d bytes", got)

	d.note("A closes (CLOSE: no more data from A)")
	a.Close(d.now)
	d.run(500 * time.Millisecond)
	if _, err := b.Receive(d.now, make([]byte, 1)); err == io.EOF {
		d.note("B's application reads end-of-file")
	}
	d.note("B closes a second later")
	d.run(time.Second)
	b.Close(d.now)
	d.run(2**msl + time.Second)
	if err := ctx.Err(); err != nil {
		return err
	}
	d.flushTo(stdout)
	ok := a.State() == tcp.StateClosed && b.State() == tcp.StateClosed && got == len(payload)
	fmt.Fprintf(stdout, "\nresult: A %v, B %v, %d/%d bytes delivered", a.State(), b.State(), got, len(payload))
	if !ok {
		fmt.Fprintln(stdout, " — FAIL")
		return fmt.Errorf("demo did not end with both sides CLOSED and all data delivered")
	}
	fmt.Fprintln(stdout, " — ok")
	return nil
}

// demo is a two-host virtual-time loop over the tcp cores.
type demo struct {
	start, now time.Time
	delay      time.Duration
	cfg        tcp.Config
	a, b       *tcp.Conn
	inflight   []demoFlight
	lines      []string
}

type demoFlight struct {
	at  time.Time
	to  *tcp.Conn
	seg wire.Segment
}

func newDemo(delay time.Duration, cfg tcp.Config) *demo {
	d := &demo{delay: delay, cfg: cfg.Defaults()}
	d.start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d.now = d.start
	d.a = tcp.NewConn(&d.cfg, d, d)
	d.b = tcp.NewConn(&d.cfg, d, d)
	return d
}

func (d *demo) name(c *tcp.Conn) string {
	if c == d.a {
		return "A"
	}
	return "B"
}

func (d *demo) peer(c *tcp.Conn) *tcp.Conn {
	if c == d.a {
		return d.b
	}
	return d.a
}

// Segment implements tcp.Output: print, then put the segment on the wire.
func (d *demo) Segment(now time.Time, c *tcp.Conn, s *wire.Segment, why string) {
	cp := *s
	cp.Payload = append([]byte(nil), s.Payload...)
	to := d.peer(c)
	d.line(c, fmt.Sprintf("%s %s", arrow(d.name(c)), d.describe(c, to, &cp)), why)
	d.inflight = append(d.inflight, demoFlight{now.Add(d.delay), to, cp})
}

// Event implements tcp.Observer.
func (d *demo) Event(now time.Time, c *tcp.Conn, e *tcp.Event) {
	switch e.Kind {
	case tcp.EventState:
		d.line(c, fmt.Sprintf("%v → %v", e.From, e.To), e.Cause)
	case tcp.EventTimer:
		switch e.Action {
		case tcp.TimerSet:
			if e.Timer == tcp.TimerTimeWait || e.Timer == tcp.TimerSynRetry {
				d.line(c, fmt.Sprintf("timer %v set for %v", e.Timer, e.Deadline.Sub(now)), "")
			}
		case tcp.TimerFire:
			d.line(c, fmt.Sprintf("timer %v fires", e.Timer), "")
		}
	case tcp.EventDrop:
		d.line(c, "drops a segment", e.Cause)
	}
}

func arrow(from string) string {
	if from == "A" {
		return "──▶"
	}
	return "◀──"
}

// describe prints a segment with sequence numbers relative to the ISNs.
func (d *demo) describe(from, to *tcp.Conn, s *wire.Segment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s seq=%d", s.Flags, uint32(s.Seq-from.ISS()))
	if s.Flags&wire.FlagACK != 0 {
		fmt.Fprintf(&b, " ack=%d", uint32(s.Ack-to.ISS()))
	}
	if len(s.Payload) > 0 {
		fmt.Fprintf(&b, " len=%d", len(s.Payload))
	}
	fmt.Fprintf(&b, " win=%d", s.Wnd)
	if o := s.Opts.String(); o != "" && s.Flags&wire.FlagSYN != 0 {
		fmt.Fprintf(&b, " <%s>", o)
	}
	return b.String()
}

func (d *demo) line(c *tcp.Conn, what, why string) {
	t := d.now.Sub(d.start)
	col := ""
	if c == d.b {
		col = strings.Repeat(" ", 8)
	}
	l := fmt.Sprintf("%9.3fs  %s%s  %s", t.Seconds(), col, d.name(c), what)
	if why != "" {
		l += "\n" + strings.Repeat(" ", 14) + col + "why: " + why
	}
	d.lines = append(d.lines, l)
}

func (d *demo) note(format string, args ...any) {
	d.lines = append(d.lines, fmt.Sprintf("%9.3fs  -- %s", d.now.Sub(d.start).Seconds(), fmt.Sprintf(format, args...)))
}

func (d *demo) flushTo(w io.Writer) {
	for _, l := range d.lines {
		fmt.Fprintln(w, l)
	}
	d.lines = nil
}

func (d *demo) drain(c *tcp.Conn) int {
	buf := make([]byte, 64<<10)
	total := 0
	for {
		n, _ := c.Receive(d.now, buf)
		if n == 0 {
			return total
		}
		total += n
	}
}

// run advances virtual time by at most limit, delivering segments and
// firing timers in time order.
func (d *demo) run(limit time.Duration) {
	end := d.now.Add(limit)
	for range 1 << 20 {
		next := end
		for _, f := range d.inflight {
			if f.at.Before(next) {
				next = f.at
			}
		}
		for _, c := range []*tcp.Conn{d.a, d.b} {
			if t, ok := c.NextDeadline(); ok && t.Before(next) {
				next = t
			}
		}
		d.now = next
		var due []demoFlight
		rest := d.inflight[:0]
		for _, f := range d.inflight {
			if f.at.After(d.now) {
				rest = append(rest, f)
			} else {
				due = append(due, f)
			}
		}
		d.inflight = rest
		for _, f := range due {
			f.to.SegmentArrives(d.now, &f.seg)
		}
		d.a.Tick(d.now)
		d.b.Tick(d.now)
		if !d.now.Before(end) {
			return
		}
	}
}

