package trace

import (
	"errors"
	"io"
	"net/netip"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/wire"
)

// testRun is a small scripted run in the simulator whose trace the
// renderers' golden files are drawn from. The runs are deterministic:
// seed 1, a 10 ms link, applications driven from the run's own loop.
type testRun struct {
	name, desc string
	run        func(w *testWorld)
}

// testWorld is a run in progress: the network, A and B, the recorder.
type testWorld struct {
	n    *sim.Network
	r    *Recorder
	a, b *sim.Host
}

var portB = netip.MustParseAddrPort("192.0.2.2:80")

// record runs tr and returns its trace.
func record(tr testRun) []Event {
	w := &testWorld{n: sim.New(1), r: NewRecorder()}
	w.n.SetObserver(w.r)
	w.a = w.n.AddHost("A", netip.MustParseAddr("192.0.2.1"), stack.Config{})
	w.b = w.n.AddHost("B", portB.Addr(), stack.Config{})
	w.n.Connect(w.a, w.b, sim.LinkConfig{Delay: 10 * time.Millisecond})
	tr.run(w)
	return w.r.Events
}

func (w *testWorld) user(h *sim.Host, c *stack.Conn, call string, n int, err error) {
	w.r.User(w.n.Now(), h.Name, c.ID().String(), call, n, err)
}

// open listens on B, dials from A and runs the handshake.
func (w *testWorld) open() (client, server *stack.Conn) {
	ln, err := w.b.Stack.Listen(portB, 0)
	w.r.User(w.n.Now(), "B", portB.String(), "listen", 0, err)
	client, err = w.a.Stack.Dial(w.n.Now(), netip.AddrPort{}, portB)
	w.user(w.a, client, "open", 0, err)
	w.n.RunFor(time.Second)
	server = ln.Accept()
	w.user(w.b, server, "accept", 0, nil)
	return client, server
}

func (w *testWorld) write(h *sim.Host, c *stack.Conn, s string) {
	k, err := c.Write(w.n.Now(), []byte(s))
	w.user(h, c, "send", k, err)
}

// read reads what is there, recording it; io.EOF is recorded as read-eof.
func (w *testWorld) read(h *sim.Host, c *stack.Conn) error {
	buf := make([]byte, 64)
	k, err := c.Read(w.n.Now(), buf)
	switch {
	case errors.Is(err, io.EOF):
		w.user(h, c, "read-eof", 0, nil)
	case err != nil || k > 0:
		w.user(h, c, "read", k, err)
	}
	return err
}

func (w *testWorld) close(h *sim.Host, c *stack.Conn) {
	c.Close(w.n.Now())
	w.user(h, c, "close", 0, nil)
}

// closeOnEOF makes c's application read as data arrives and close at
// end-of-file, as a server that has nothing more to say does.
func (w *testWorld) closeOnEOF(h *sim.Host, c *stack.Conn) {
	done := false
	c.SetNotifier(stack.NotifyFunc(func() {
		w.n.After(0, func() {
			if !done && w.read(h, c) == io.EOF {
				done = true
				w.close(h, c)
			}
		})
	}))
}

var testRuns = []testRun{
	{
		name: "close-four-way",
		desc: "A sends data and closes first; B reads it, reads EOF, and closes a second later: four segments, then TIME-WAIT for 2MSL.",
		run: func(w *testWorld) {
			c, s := w.open()
			w.write(w.a, c, "hello")
			w.n.RunFor(500 * time.Millisecond)
			w.read(w.b, s)
			w.r.Note(w.n.Now(), "A", "A closes: it has nothing more to send")
			w.close(w.a, c)
			w.n.RunFor(500 * time.Millisecond)
			w.read(w.b, s)
			w.n.RunFor(time.Second)
			w.close(w.b, s)
			w.n.RunFor(70 * time.Second)
		},
	},
	{
		name: "lost-fin",
		desc: "A's FIN is lost; A retransmits it with the same sequence number after its RTO; B ACKs it, reads EOF and closes; A waits 2MSL in TIME-WAIT.",
		run: func(w *testWorld) {
			w.n.Script(&sim.Rule{Name: "script: lose A's first FIN", From: "A", Match: sim.Flags(wire.FlagFIN), Count: 1, Action: sim.ActDrop})
			c, s := w.open()
			w.closeOnEOF(w.b, s)
			w.write(w.a, c, "bye")
			w.close(w.a, c)
			w.n.RunFor(70 * time.Second)
		},
	},
	{
		name: "refused",
		desc: "A's SYN reaches a port with no listener: B answers RST+ACK ack=x+1 and A's application gets ECONNREFUSED.",
		run: func(w *testWorld) {
			c, err := w.a.Stack.Dial(w.n.Now(), netip.AddrPort{}, portB)
			w.user(w.a, c, "open", 0, err)
			w.n.RunFor(time.Second)
		},
	},
	{
		name: "close-three-way",
		desc: "B's application closes as soon as it reads EOF, so B's ACK of A's FIN rides on B's own FIN: three segments, and A goes from FIN-WAIT-1 straight to TIME-WAIT.",
		run: func(w *testWorld) {
			c, s := w.open()
			w.closeOnEOF(w.b, s)
			w.close(w.a, c)
			w.n.RunFor(70 * time.Second)
		},
	},
	{
		name: "late-segment-after-close",
		desc: "A copy of B's data is delayed in the network and reaches A after A has closed: A answers with RST; B, in TIME-WAIT, refuses that RST (its sequence number is below RCV.NXT) and TIME-WAIT goes on.",
		run: func(w *testWorld) {
			w.n.Script(&sim.Rule{Name: "script: a stale copy of B's data", From: "B", Match: func(s *wire.Segment) bool { return len(s.Payload) > 0 },
				Count: 1, Action: sim.ActDupLate, Delay: 2 * time.Second})
			c, s := w.open()
			w.closeOnEOF(w.a, c)
			w.write(w.b, s, "data")
			w.n.RunFor(100 * time.Millisecond)
			w.close(w.b, s)
			w.n.RunFor(70 * time.Second)
		},
	},
}
