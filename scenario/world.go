package scenario

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/trace/record"
)

// World is a scenario's run: the network, its hosts, the recorder, and
// the helpers the scripts use to act as applications. Every application
// call is recorded as a "user" event.
type World struct {
	S   *Scenario
	P   Params
	Net *sim.Network
	A   *sim.Host
	B   *sim.Host
	Rec *record.Recorder

	link     *sim.Link
	notes    []string
	fails    []string
	offset   time.Duration // added to this run's times, after the events in before
	before   []trace.Event // events shown first: a model's (setModel) or an earlier run's (setEarlier)
	frozen   uint64        // the highest packet of a model shown first: no fault reaches it
	model    [2]string     // the model's name, English and Chinese
	labRules []labRule     // the learner's packet faults
	outcomes []FaultOutcome
	selfRun  bool // the case applied the learner's faults to the parts it runs itself (faultsOn)
}

func newWorld(s *Scenario, p Params) *World {
	if p.Seed == 0 {
		p.Seed = 1
	}
	w := &World{S: s, P: p, Net: sim.New(p.Seed), Rec: record.New(sim.Epoch)}
	w.Net.SetObserver(sim.Recording(w.Rec))
	if p.Capture != nil {
		at := p.CaptureAt
		if at == "" {
			at = "A"
		}
		w.Net.SetCaptureAt(p.Capture, at)
	}
	return w
}

// setup creates hosts A and B joined by one link; mod, if set, adjusts a
// host's stack settings.
func (w *World) setup(modA, modB func(*stack.Config)) {
	ca, cb := w.P.stackConfig(), w.P.stackConfig()
	if modA != nil {
		modA(&ca)
	}
	if modB != nil {
		modB(&cb)
	}
	w.A = w.Net.AddHost("A", AddrA, ca)
	w.B = w.Net.AddHost("B", AddrB, cb)
	w.link = w.Net.Connect(w.A, w.B, w.P.link())
}

func (w *World) now() time.Time { return w.Net.Now() }

func (w *World) events() []trace.Event {
	out := append([]trace.Event(nil), w.before...)
	// Packet numbers stay unique in the trace: this run's count on from
	// the earlier run's, so that a recv or drop names only its own send.
	last := w.last()
	for _, e := range w.Rec.Events {
		e.T += w.offset
		if e.Packet != 0 {
			e.Packet += last
		}
		out = append(out, e)
	}
	return out
}

// last is the highest packet number of the events shown first.
func (w *World) last() uint64 { return lastPacket(w.before) }

// fail records a failed check made while the scenario ran.
func (w *World) fail(format string, args ...any) {
	w.fails = append(w.fails, fmt.Sprintf(format, args...))
}

// At runs f at virtual time d; After runs f d from now.
func (w *World) At(d time.Duration, f func())    { w.Net.At(d, f) }
func (w *World) After(d time.Duration, f func()) { w.Net.After(d, f) }

// Note narrates.
func (w *World) Note(host, text string) { w.Rec.Note(w.now(), host, text) }

// Report adds a figure to the result.
func (w *World) Report(s string) { w.notes = append(w.notes, s) }

// script adds a scripted fault.
func (w *World) script(r *sim.Rule) *sim.Rule { return w.Net.Script(r) }

func connName(c *stack.Conn) string { return c.ID().String() }

// missing reports whether c is nil — a connection the script expected
// but that never opened, as when a learner's --loss took its handshake —
// and notes it, so the call is skipped instead of crashing the run.
func (w *World) missing(h *sim.Host, call string, c *stack.Conn) bool {
	if c != nil {
		return false
	}
	w.Note(h.Name, call+": no connection (it never opened)")
	return true
}

// Listen opens a listener on host h, port p.
func (w *World) Listen(h *sim.Host, port uint16) *stack.Listener {
	// As Dial: the call reads before the CLOSED → LISTEN it causes; a
	// failure is recorded after.
	addr := netip.AddrPortFrom(h.Addr(), port)
	w.Rec.User(w.now(), h.Name, addr.String(), "listen", 0, nil)
	ln, err := h.Stack.Listen(w.now(), addr, 0)
	if err != nil {
		w.Rec.User(w.now(), h.Name, addr.String(), "listen", 0, err)
	}
	return ln
}

// Dial opens a connection from h (local port lport, 0 for ephemeral) to
// the host to, port p.
func (w *World) Dial(h *sim.Host, lport uint16, to *sim.Host, port uint16) *stack.Conn {
	// The call is recorded before it runs, so that it reads before the
	// SYN it causes; a failure is recorded after.
	remote := netip.AddrPortFrom(to.Addr(), port)
	w.Rec.User(w.now(), h.Name, "→"+remote.String(), "open", 0, nil)
	c, err := h.Stack.Dial(w.now(), netip.AddrPortFrom(h.Addr(), lport), remote)
	if err != nil {
		w.Rec.User(w.now(), h.Name, "→"+remote.String(), "open", 0, err)
	}
	return c
}

// Write sends data on c.
func (w *World) Write(h *sim.Host, c *stack.Conn, data []byte) {
	if w.missing(h, "send", c) {
		return
	}
	n, err := c.Write(w.now(), data)
	w.Rec.User(w.now(), h.Name, connName(c), "send", n, err)
}

// Shutdown is RFC 9293's CLOSE: no more data from this side (half-close,
// shutdown(SHUT_WR)).
func (w *World) Shutdown(h *sim.Host, c *stack.Conn) {
	if w.missing(h, "shutdown", c) {
		return
	}
	w.Rec.User(w.now(), h.Name, connName(c), "shutdown", 0, nil)
	if err := c.CloseWrite(w.now()); err != nil {
		w.Rec.User(w.now(), h.Name, connName(c), "shutdown", 0, err)
	}
}

// Close is close(2): the application lets go; FIN, or RST with unread data.
func (w *World) Close(h *sim.Host, c *stack.Conn) {
	if w.missing(h, "close", c) {
		return
	}
	w.Rec.User(w.now(), h.Name, connName(c), "close", 0, nil)
	c.Close(w.now())
}

// Abort resets the connection (SO_LINGER 0).
func (w *World) Abort(h *sim.Host, c *stack.Conn) {
	if w.missing(h, "abort", c) {
		return
	}
	w.Rec.User(w.now(), h.Name, connName(c), "abort", 0, nil)
	c.Abort(w.now())
}

// App is an application on one connection, reacting to what happens.
type App struct {
	NoRead        bool        // never read (the data stays unread)
	OnEstablished func()      // the handshake completed
	OnData        func(n int) // data was read
	OnEOF         func()      // the peer's FIN: read returned end-of-file
	OnError       func(error) // reset, refused, timed out
	OnClosed      func()      // the connection reached CLOSED
	Read          []byte      // everything read
	EOF           bool
	Err           error
	estab, closed bool
}

// Run attaches app to connection c of host h.
func (w *World) Run(h *sim.Host, c *stack.Conn, app *App) *App {
	if app == nil {
		app = &App{}
	}
	if w.missing(h, "run", c) {
		return app
	}
	c.SetNotifier(w.Net.Waker(func() { w.pump(h, c, app) }))
	w.Net.After(0, func() { w.pump(h, c, app) })
	return app
}

func (w *World) pump(h *sim.Host, c *stack.Conn, app *App) {
	st := c.State()
	if !app.estab && st.Synchronized() {
		app.estab = true
		if app.OnEstablished != nil {
			app.OnEstablished()
		}
	}
	if !app.NoRead && !app.EOF && app.Err == nil {
		buf := make([]byte, 64<<10)
		total := 0
		for {
			n, err := c.Read(w.now(), buf)
			app.Read = append(app.Read, buf[:n]...)
			total += n
			if err == io.EOF {
				if total > 0 {
					w.Rec.User(w.now(), h.Name, connName(c), "read", total, nil)
					total = 0
				}
				app.EOF = true
				w.Rec.User(w.now(), h.Name, connName(c), "read-eof", 0, nil)
				break
			}
			if err != nil {
				app.Err = err
				w.Rec.User(w.now(), h.Name, connName(c), "read", total, err)
				total = 0
				break
			}
			if n == 0 {
				break
			}
		}
		if total > 0 {
			w.Rec.User(w.now(), h.Name, connName(c), "read", total, nil)
			if app.OnData != nil {
				app.OnData(total)
			}
		}
		if app.EOF && app.OnEOF != nil {
			f := app.OnEOF
			app.OnEOF = nil
			f()
		}
		if app.Err != nil && app.OnError != nil {
			app.OnError(app.Err)
		}
	}
	if app.NoRead && app.Err == nil && c.Err() != nil {
		app.Err = c.Err()
		if app.OnError != nil {
			app.OnError(app.Err)
		}
	}
	if !app.closed && c.State() == tcp.StateClosed {
		app.closed = true
		if app.OnClosed != nil {
			app.OnClosed()
		}
	}
}

// Serve accepts every connection on ln and runs a fresh App from mk on it.
func (w *World) Serve(h *sim.Host, ln *stack.Listener, mk func(c *stack.Conn) *App) {
	ln.SetNotifier(w.Net.Waker(func() {
		for c := ln.Accept(); c != nil; c = ln.Accept() {
			w.Rec.User(w.now(), h.Name, connName(c), "accept", 0, nil)
			w.Run(h, c, mk(c))
		}
	}))
}
