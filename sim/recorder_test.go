package sim_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/trace/record"
	"github.com/synack/synack/wire"
)

var update = flag.Bool("update", false, "rewrite the recorded runs in ../trace/testdata/runs")

// The recorded runs are the event streams package trace draws its golden
// pictures from: trace cannot run the simulator itself (sim sits above it),
// so the runs are recorded here and kept as JSON lines there.
const runsDir = "../trace/testdata/runs"

// TestRecordedRuns runs each scripted run twice: both must give the same
// events, and those must be what trace's testdata holds.
func TestRecordedRuns(t *testing.T) {
	if *update {
		if err := os.MkdirAll(runsDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tr := range testRuns {
		var a, b bytes.Buffer
		if err := trace.WriteJSON(&a, recordRun(tr)); err != nil {
			t.Fatal(err)
		}
		trace.WriteJSON(&b, recordRun(tr))
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two runs with one seed recorded different events", tr.name)
		}
		path := filepath.Join(runsDir, tr.name+".jsonl")
		if *update {
			if err := os.WriteFile(path, a.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./sim -run TestRecordedRuns -update)", err)
		}
		if !bytes.Equal(a.Bytes(), want) {
			t.Errorf("%s: the run no longer records %s; if that is intended, run go test ./sim -run TestRecordedRuns -update, then go test ./trace -update, and review the diffs", tr.name, path)
		}
	}
}

// testRun is a small scripted run in the simulator. The runs are
// deterministic: seed 1, a 10 ms link, applications driven from the run's
// own loop.
type testRun struct {
	name string
	run  func(w *testWorld)
}

// testWorld is a run in progress: the network, A and B, the recorder.
type testWorld struct {
	n    *sim.Network
	r    *record.Recorder
	a, b *sim.Host
}

var portB = netip.MustParseAddrPort("192.0.2.2:80")

// record runs tr and returns its trace.
func recordRun(tr testRun) []trace.Event {
	w := &testWorld{n: sim.New(1), r: record.New(sim.Epoch)}
	w.n.SetObserver(sim.Recording(w.r))
	// The recorded runs (lost-fin among them, whose text says the RTO
	// resends the FIN) show the retransmission timer: tail loss probes off.
	cfg := stack.Config{TCP: tcp.Config{TLP: tcp.Off}}
	w.a = w.n.AddHost("A", netip.MustParseAddr("192.0.2.1"), cfg)
	w.b = w.n.AddHost("B", portB.Addr(), cfg)
	w.n.Connect(w.a, w.b, sim.LinkConfig{Delay: 10 * time.Millisecond})
	tr.run(w)
	return w.r.Events
}

func (w *testWorld) user(h *sim.Host, c *stack.Conn, call string, n int, err error) {
	w.r.User(w.n.Now(), h.Name, c.ID().String(), call, n, err)
}

// open listens on B, dials from A and runs the handshake.
func (w *testWorld) open() (client, server *stack.Conn) {
	w.r.User(w.n.Now(), "B", portB.String(), "listen", 0, nil) // before the CLOSED → LISTEN it causes
	ln, err := w.b.Stack.Listen(w.n.Now(), portB, 0)
	if err != nil {
		w.r.User(w.n.Now(), "B", portB.String(), "listen", 0, err)
	}
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
		run: func(w *testWorld) {
			c, err := w.a.Stack.Dial(w.n.Now(), netip.AddrPort{}, portB)
			w.user(w.a, c, "open", 0, err)
			w.n.RunFor(time.Second)
		},
	},
	{
		name: "close-three-way",
		run: func(w *testWorld) {
			c, s := w.open()
			w.closeOnEOF(w.b, s)
			w.close(w.a, c)
			w.n.RunFor(70 * time.Second)
		},
	},
	{
		name: "late-segment-after-close",
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
