package tcp

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// The harness drives one Conn with segments written as packetdrill does:
// "S. 1000:1000(0) ack 5001 win 65535 <mss 1460,wscale 7>". `in` feeds a
// segment from the peer; `wantOut` checks what the connection sent. The
// connection under test has ISS 1000 and port 80; the peer has ISS 5000 and
// port 40000. Time is virtual and explicit.

const (
	ourISS   = 1000
	peerISS  = 5000
	ourPort  = 80
	peerPort = 40000
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// exercised records every transition any test produced, for
// TestMain's figure-5 coverage check.
var exercised = map[[2]State]string{}

func recordTransition(from, to State, test string) {
	if _, ok := exercised[[2]State{from, to}]; !ok {
		exercised[[2]State{from, to}] = test
	}
}

type sent struct {
	seg wire.Segment
	why Cause
}

type harness struct {
	t      *testing.T
	cfg    Config
	c      *Conn
	now    time.Time
	out    []sent
	events []Event
}

func (h *harness) Segment(now time.Time, c *Conn, s *wire.Segment, why Cause) {
	cp := *s
	cp.Payload = append([]byte(nil), s.Payload...)
	h.out = append(h.out, sent{cp, why})
}

func (h *harness) Event(now time.Time, c *Conn, e *Event) {
	if e.Kind == EventState {
		recordTransition(e.From, e.To, h.t.Name())
		if !Legal(e.From, e.To) {
			h.t.Errorf("illegal transition %v -> %v (%s)", e.From, e.To, e.Cause)
		}
	}
	ev := *e
	ev.Seg = nil
	h.events = append(h.events, ev)
}

// newHarness returns a CLOSED connection. mod may change the Config.
func newHarness(t *testing.T, mod ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, now: epoch}
	// Timestamps and window scaling are off by default in the harness so
	// segments read plainly; tests of those options turn them on.
	h.cfg = Config{Timestamps: Off, WindowScaling: Off, SACK: Off, RcvBuf: 65535, SndBuf: 65535}
	for _, m := range mod {
		m(&h.cfg)
	}
	h.cfg = h.cfg.Defaults()
	h.c = NewConn(&h.cfg, h, h)
	h.c.SetScratch(new(Scratch)) // as the stack's: buffers from its pool
	return h
}

// parseSeg parses the packetdrill-like form. Fields left out are not
// compared by wantOut: "ack" (when the flags have '.'), "win", "<...>".
type segSpec struct {
	seg             wire.Segment
	hasWin, hasOpts bool
}

func parseSeg(t testing.TB, str string) segSpec {
	t.Helper()
	var sp segSpec
	s := &sp.seg
	s.SrcPort, s.DstPort = peerPort, ourPort
	f := strings.Fields(str)
	if len(f) < 2 {
		t.Fatalf("bad segment %q", str)
	}
	for _, ch := range f[0] {
		switch ch {
		case 'S':
			s.Flags |= wire.FlagSYN
		case 'F':
			s.Flags |= wire.FlagFIN
		case 'R':
			s.Flags |= wire.FlagRST
		case 'P':
			s.Flags |= wire.FlagPSH
		case '.':
			s.Flags |= wire.FlagACK
		case '-':
		default:
			t.Fatalf("bad flag %q in %q", ch, str)
		}
	}
	var start, end uint32
	var n int
	if _, err := fmt.Sscanf(f[1], "%d:%d(%d)", &start, &end, &n); err != nil {
		t.Fatalf("bad range in %q: %v", str, err)
	}
	s.Seq = seq.Num(start)
	if n > 0 {
		s.Payload = make([]byte, n)
		for i := range s.Payload {
			s.Payload[i] = byte('a' + (int(start)+i)%26)
		}
	}
	rest := f[2:]
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case "ack":
			v, _ := strconv.ParseUint(rest[i+1], 10, 32)
			s.Ack = seq.Num(v)
			i++
		case "win":
			v, _ := strconv.ParseUint(rest[i+1], 10, 16)
			s.Wnd = uint16(v)
			sp.hasWin = true
			i++
		default:
			if strings.HasPrefix(rest[i], "<") {
				opts := strings.Join(rest[i:], " ")
				opts = strings.TrimSuffix(strings.TrimPrefix(opts, "<"), ">")
				sp.hasOpts = true
				parseOpts(t, &s.Opts, opts)
				i = len(rest)
			} else {
				t.Fatalf("bad field %q in %q", rest[i], str)
			}
		}
	}
	if !sp.hasWin {
		s.Wnd = 65535
	}
	return sp
}

func parseOpts(t testing.TB, o *wire.Options, str string) {
	for _, p := range strings.Split(str, ",") {
		f := strings.Fields(p)
		if len(f) == 0 {
			continue
		}
		num := func(i int) uint32 {
			v, err := strconv.ParseUint(f[i], 10, 32)
			if err != nil {
				t.Fatalf("bad option %q", p)
			}
			return uint32(v)
		}
		switch f[0] {
		case "mss":
			o.HasMSS, o.MSS = true, uint16(num(1))
		case "wscale":
			o.HasWScale, o.WScale = true, uint8(num(1))
		case "sackOK":
			o.SACKPermitted = true
		case "TS":
			o.HasTimestamp, o.TSVal, o.TSEcr = true, num(2), num(4)
		case "sack":
			var l, r uint32
			fmt.Sscanf(f[1], "%d:%d", &l, &r)
			o.SACK[o.NumSACK] = wire.SACKBlock{Left: seq.Num(l), Right: seq.Num(r)}
			o.NumSACK++
		case "nop":
		default:
			t.Fatalf("unknown option %q", p)
		}
	}
}

// in delivers a segment from the peer.
func (h *harness) in(str string) bool {
	h.t.Helper()
	sp := parseSeg(h.t, str)
	return h.c.SegmentArrives(h.now, &sp.seg)
}

// inSeg delivers a segment value.
func (h *harness) inSeg(s wire.Segment) bool {
	s.SrcPort, s.DstPort = peerPort, ourPort
	return h.c.SegmentArrives(h.now, &s)
}

// wantOut checks that exactly these segments were sent since the last
// check, in order. why says what the expectation means.
func (h *harness) wantOut(why string, want ...string) {
	h.t.Helper()
	got := h.out
	h.out = nil
	if len(got) != len(want) {
		var b strings.Builder
		for _, g := range got {
			fmt.Fprintf(&b, "\n\t%v   (%s)", g.seg, g.why)
		}
		h.t.Fatalf("%s: sent %d segments, want %d %q:%s", why, len(got), len(want), want, b.String())
	}
	for i, w := range want {
		sp := parseSeg(h.t, w)
		g := got[i].seg
		e := sp.seg
		ok := g.Flags == e.Flags && g.Seq == e.Seq && len(g.Payload) == len(e.Payload)
		if e.Flags&wire.FlagACK != 0 && g.Ack != e.Ack {
			ok = false
		}
		if sp.hasWin && g.Wnd != e.Wnd {
			ok = false
		}
		if sp.hasOpts && g.Opts != e.Opts {
			ok = false
		}
		if g.SrcPort != ourPort || g.DstPort != peerPort {
			ok = false
		}
		if !ok {
			h.t.Fatalf("%s: segment %d is\n\t%v   (%s)\nwant\n\t%s", why, i, g, got[i].why, w)
		}
	}
}

// wantNone checks that nothing was sent.
func (h *harness) wantNone(why string) { h.t.Helper(); h.wantOut(why) }

// wantState checks the state.
func (h *harness) wantState(s State) {
	h.t.Helper()
	if h.c.State() != s {
		h.t.Fatalf("state %v, want %v", h.c.State(), s)
	}
}

// advance moves time on by d, firing due timers at their deadlines.
func (h *harness) advance(d time.Duration) {
	end := h.now.Add(d)
	for i := 0; i < 10000; i++ {
		next, ok := h.c.NextDeadline()
		if !ok || next.After(end) {
			break
		}
		h.now = next
		h.c.Tick(h.now)
	}
	h.now = end
}

// lastCause returns the cause of the most recent state change.
func (h *harness) lastCause() Cause {
	for i := len(h.events) - 1; i >= 0; i-- {
		if h.events[i].Kind == EventState {
			return h.events[i].Cause
		}
	}
	return CauseNone
}

// checkInvariants asserts what must hold in every state.
func (h *harness) checkInvariants() {
	h.t.Helper()
	c := h.c
	if c.sndUna.GreaterThan(c.sndNxt) || c.sndNxt.GreaterThan(c.sndMax) {
		h.t.Fatalf("SND.UNA %d ≤ SND.NXT %d ≤ SND.MAX %d violated", c.sndUna, c.sndNxt, c.sndMax)
	}
	if c.rcv.n > c.rcv.max || c.snd.n > c.snd.max {
		h.t.Fatalf("buffers over their limits")
	}
	if c.state == StateTimeWait || c.state == StateClosed {
		for tm := Timer(0); tm < numTimers; tm++ {
			if c.armed(tm) && tm != TimerTimeWait {
				h.t.Fatalf("%v armed in %v", tm, c.state)
			}
		}
	}
	if len(c.ooo) > c.cfg.MaxOutOfOrder {
		h.t.Fatalf("%d out-of-order ranges, limit %d", len(c.ooo), c.cfg.MaxOutOfOrder)
	}
	for i, sp := range c.ooo {
		// Held ranges lie strictly beyond RCV.NXT (else they would have been
		// delivered), in order, apart, and inside the window we advertised.
		if !c.rcvNxt.LessThan(sp.start) || !sp.start.LessThan(sp.end) || sp.end.GreaterThan(c.rcvAdv) ||
			(i > 0 && !c.ooo[i-1].end.LessThan(sp.start)) {
			h.t.Fatalf("out-of-order ranges %v with RCV.NXT %d, right edge %d", c.ooo, c.rcvNxt, c.rcvAdv)
		}
	}
}

// Fixtures: each brings the connection to a state along the usual path,
// checking every step (smoltcp's socket_* fixtures).

func (h *harness) listen() *harness {
	h.t.Helper()
	if err := h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS}); err != nil {
		h.t.Fatal(err)
	}
	h.wantState(StateListen)
	return h
}

func (h *harness) synReceived() *harness {
	h.t.Helper()
	h.listen()
	h.in("S 5000:5000(0) win 65535 <mss 1460>")
	h.wantOut("SYN in LISTEN is answered by SYN+ACK", "S. 1000:1000(0) ack 5001")
	h.wantState(StateSynReceived)
	return h
}

func (h *harness) established() *harness {
	h.t.Helper()
	h.synReceived()
	h.in(". 5001:5001(0) ack 1001 win 65535")
	h.wantNone("the ACK of our SYN needs no answer")
	h.wantState(StateEstablished)
	return h
}

func (h *harness) synSent() *harness {
	h.t.Helper()
	if err := h.c.OpenActive(h.now, OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: ourISS}); err != nil {
		h.t.Fatal(err)
	}
	h.wantOut("active OPEN sends SYN", "S 1000:1000(0)")
	h.wantState(StateSynSent)
	return h
}

func (h *harness) establishedActive() *harness {
	h.t.Helper()
	h.synSent()
	h.in("S. 5000:5000(0) ack 1001 win 65535 <mss 1460>")
	h.wantOut("SYN+ACK is ACKed", ". 1001:1001(0) ack 5001")
	h.wantState(StateEstablished)
	return h
}

func (h *harness) finWait1() *harness {
	h.t.Helper()
	h.established()
	h.c.Close(h.now)
	h.wantOut("CLOSE sends FIN", "F. 1001:1001(0) ack 5001")
	h.wantState(StateFinWait1)
	return h
}

func (h *harness) finWait2() *harness {
	h.t.Helper()
	h.finWait1()
	h.in(". 5001:5001(0) ack 1002")
	h.wantNone("the ACK of our FIN needs no answer")
	h.wantState(StateFinWait2)
	return h
}

func (h *harness) closeWait() *harness {
	h.t.Helper()
	h.established()
	h.in("F. 5001:5001(0) ack 1001")
	h.wantNone("the ACK of a FIN is delayed")
	h.wantState(StateCloseWait)
	return h
}

func (h *harness) lastAck() *harness {
	h.t.Helper()
	h.closeWait()
	h.c.Close(h.now)
	h.wantOut("CLOSE in CLOSE-WAIT sends FIN with the owed ACK", "F. 1001:1001(0) ack 5002")
	h.wantState(StateLastAck)
	return h
}

func (h *harness) closing() *harness {
	h.t.Helper()
	h.finWait1()
	h.in("F. 5001:5001(0) ack 1001")
	h.wantOut("a FIN crossing ours is ACKed at once", ". 1002:1002(0) ack 5002")
	h.wantState(StateClosing)
	return h
}

func (h *harness) timeWait() *harness {
	h.t.Helper()
	h.finWait2()
	h.in("F. 5001:5001(0) ack 1002")
	h.wantOut("the FIN is ACKed at once", ". 1002:1002(0) ack 5002")
	h.wantState(StateTimeWait)
	return h
}

// gotoState reaches any state by its fixture.
func (h *harness) gotoState(s State) *harness {
	h.t.Helper()
	switch s {
	case StateClosed:
		return h
	case StateListen:
		return h.listen()
	case StateSynSent:
		return h.synSent()
	case StateSynReceived:
		return h.synReceived()
	case StateEstablished:
		return h.established()
	case StateFinWait1:
		return h.finWait1()
	case StateFinWait2:
		return h.finWait2()
	case StateCloseWait:
		return h.closeWait()
	case StateClosing:
		return h.closing()
	case StateLastAck:
		return h.lastAck()
	case StateTimeWait:
		return h.timeWait()
	}
	h.t.Fatalf("no fixture for %v", s)
	return h
}

// TestMain runs the tests, then — when the whole package ran — checks that
// every row of the table of legal transitions was exercised by some test
// (the figure-5 coverage test). Each harness already fails a test that
// produces a transition outside the table.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		var missing []string
		for _, tr := range Transitions {
			if _, ok := exercised[[2]State{tr.From, tr.To}]; !ok {
				missing = append(missing, fmt.Sprintf("%v -> %v (%s)", tr.From, tr.To, tr.When))
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: figure-5 coverage: %d transitions exercised by no test:\n\t%s\n", len(missing), strings.Join(missing, "\n\t"))
			code = 1
		} else {
			fmt.Fprintf(os.Stderr, "figure-5 coverage: all %d transitions exercised\n", len(Transitions))
		}
	}
	os.Exit(code)
}

// switchOf is On when on is true.
func switchOf(on bool) Switch {
	if on {
		return On
	}
	return Off
}
