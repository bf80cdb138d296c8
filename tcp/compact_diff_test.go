package tcp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/synack/synack/seq"
)

// The differential test of the compact records: the same steps run on a
// full Conn kept in memory and on a twin that, as the stack does, is saved
// to its compact record (HalfOpen in SYN-RECEIVED, TimeWait in TIME-WAIT)
// and restored into a fresh Conn before every step. Both must send the
// same segments for the same reasons, trace the same events, and end each
// step in the same state with the same TS.Recent, timers and status: the
// compact path runs the rules of a full TCB, not a copy of them.

// twinStep is one step: a segment from the peer (in), time passing
// (advance, firing due timers) or a user call (user).
type twinStep struct {
	in      string
	advance time.Duration
	user    func(c *Conn, now time.Time)
}

type twins struct {
	t          *testing.T
	full, comp *harness
	// cookie: the twin was rebuilt from a SYN cookie, which keeps no
	// SYN+ACK timer and no RTT timing (RFC 4987 §3.6; Linux
	// cookie_v4_check): those are not compared until it is established.
	cookie bool
	// noRTT: the twin took no RTT sample from the handshake (a cookie
	// without timestamps keeps no send time, as in Linux): the RTT and RTO
	// are not compared.
	noRTT bool
	round int // records round-tripped, to show the test did restore
}

func newTwins(t *testing.T, mod ...func(*Config)) *twins {
	return &twins{t: t, full: newHarness(t, mod...), comp: newHarness(t, mod...)}
}

// both runs f on the two harnesses.
func (w *twins) both(f func(h *harness)) { f(w.full); f(w.comp) }

// roundTrip saves the twin to its compact record and restores it, when
// the stack would hold it as one.
func (w *twins) roundTrip() {
	h := w.comp
	c := h.c
	switch {
	case c.State() == StateSynReceived && c.Passive() && !c.Orphaned():
		rec := c.SaveHalfOpen()
		h.restore(func(n *Conn) { n.RestoreHalfOpen(h.now, &rec) })
	case c.State() == StateTimeWait && c.Orphaned():
		rec := c.SaveTimeWait()
		h.restore(func(n *Conn) { n.RestoreTimeWait(h.now, &rec) })
	default:
		return
	}
	w.round++
}

func (w *twins) step(i int, st twinStep) {
	w.t.Helper()
	w.roundTrip()
	var reopen [2]bool
	for k, h := range []*harness{w.full, w.comp} {
		h.out, h.events = nil, nil
		switch {
		case st.in != "":
			reopen[k] = h.in(st.in)
		case st.user != nil:
			st.user(h.c, h.now)
		default:
			h.advance(st.advance)
		}
	}
	what := fmt.Sprintf("step %d (%s)", i, st.describe())
	if reopen[0] != reopen[1] {
		w.t.Fatalf("%s: reopen full %v, compact %v", what, reopen[0], reopen[1])
	}
	w.compare(what)
}

func (st twinStep) describe() string {
	switch {
	case st.in != "":
		return "< " + st.in
	case st.user != nil:
		return "user call"
	}
	return "advance " + st.advance.String()
}

func (w *twins) compare(what string) {
	w.t.Helper()
	f, c := w.full.c, w.comp.c
	diff := func(name string, a, b any) {
		w.t.Helper()
		if sa, sb := fmt.Sprintf("%+v", a), fmt.Sprintf("%+v", b); sa != sb {
			w.t.Fatalf("%s: %s differ\n\tfull:    %s\n\tcompact: %s", what, name, sa, sb)
		}
	}
	diff("segments sent", outList(w.full.out), outList(w.comp.out))
	diff("state", f.State(), c.State())
	diff("error", f.Err(), c.Err())
	diff("TS.Recent", f.tsRecent, c.tsRecent)
	cookieSyn := w.cookie && c.State() == StateSynReceived
	fe, ce := w.full.events, w.comp.events
	if w.cookie {
		fe, ce = noSynRetry(fe), noSynRetry(ce)
	}
	diff("events", fe, ce)
	fs, cs := f.Status(), c.Status()
	if f.State() == StateTimeWait || f.State() == StateClosed {
		// What a record does not keep and TIME-WAIT does not use: the
		// ISNs (RFC 9293 §3.10.7.4 judges only RCV.NXT and SND.NXT there),
		// the peer's window, the RTT and congestion state, the MSS.
		for _, s := range []*Status{&fs, &cs} {
			s.ISS, s.IRS, s.SndWnd = 0, 0, 0
			s.SRTT, s.RTTVar, s.RTO, s.CWnd, s.SSThresh, s.MSS = 0, 0, 0, 0, 0, 0
			s.Congestion = CongestionStatus{}
		}
	}
	if cookieSyn {
		fs.Timers, cs.Timers = nil, nil
	}
	if w.noRTT {
		fs.SRTT, fs.RTTVar, fs.RTO = 0, 0, 0
		cs.SRTT, cs.RTTVar, cs.RTO = 0, 0, 0
	}
	diff("status", fs, cs)
}

func noSynRetry(evs []Event) []Event {
	var l []Event
	for _, e := range evs {
		if e.Kind != EventTimer || e.Timer != TimerSynRetry {
			l = append(l, e)
		}
	}
	return l
}

func outList(out []sent) []string {
	var l []string
	for _, o := range out {
		l = append(l, fmt.Sprintf("%v (%s)", o.seg, o.why))
	}
	return l
}

// run runs the steps and checks the twin was restored at least once.
func (w *twins) run(steps []twinStep) {
	w.t.Helper()
	for i, st := range steps {
		w.step(i, st)
	}
	if w.round == 0 {
		w.t.Fatal("the twin was never held as a compact record")
	}
}

// seqs writes segments relative to the peer's ISN (irs) and ours (iss):
// "%r" is replaced by IRS+n and "%s" by ISS+n, n the number after it,
// e.g. ". %r1:%r1(0) ack %s1".
type seqs struct{ irs, iss uint32 }

func (q seqs) f(format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) && (format[i+1] == 'r' || format[i+1] == 's') {
			base := q.irs
			if format[i+1] == 's' {
				base = q.iss
			}
			j := i + 2
			neg := j < len(format) && format[j] == '-'
			if neg {
				j++
			}
			n := 0
			for j < len(format) && format[j] >= '0' && format[j] <= '9' {
				n = n*10 + int(format[j]-'0')
				j++
			}
			if neg {
				n = -n
			}
			fmt.Fprintf(&b, "%d", base+uint32(n))
			i = j - 1
			continue
		}
		b.WriteByte(format[i])
	}
	return b.String()
}

// Peer ISNs on both sides of our ISS in sequence space: a rule that
// compares with a zeroed field gives a different answer for each.
var twinPeerISNs = []uint32{5000, 0x9000_0000, 0xffff_fff0}

// twinConfigs are the option sets the records must keep: every option
// (timestamps included), and none.
var twinConfigs = []struct {
	name string
	mod  func(*Config)
	syn  string // the SYN's options
}{
	{"all options", allOptions, " <mss 1400,sackOK,TS val 100 ecr 0,wscale 7>"},
	{"no options", func(*Config) {}, " <mss 1400>"},
}

// ts returns the timestamp option for a segment from the peer when the
// configuration uses timestamps.
func ts(on bool, val uint32) string {
	if !on {
		return ""
	}
	return fmt.Sprintf(" <TS val %d ecr 1>", val)
}

// halfOpenSteps are the segments and timers a half-open connection meets
// directly after restore, each sequence from a fresh SYN-RECEIVED.
func halfOpenSteps(q seqs, tsOn bool) map[string][]twinStep {
	in := func(s string) twinStep { return twinStep{in: q.f(s)} }
	wait := func(d time.Duration) twinStep { return twinStep{advance: d} }
	send := twinStep{user: func(c *Conn, now time.Time) { c.Send(now, bytesN(3000)) }}
	return map[string][]twinStep{
		"bare ACK of the SYN+ACK": {wait(300 * time.Millisecond),
			in(". %r1:%r1(0) ack %s1 win 100" + ts(tsOn, 101)), send, wait(5 * time.Second)},
		"ACK with data": {in("P. %r1:%r1(10) ack %s1 win 100" + ts(tsOn, 102)), wait(time.Second)},
		"ACK+FIN":       {in("F. %r1:%r1(0) ack %s1 win 100" + ts(tsOn, 102)), wait(time.Second)},
		"ACK, data, FIN": {in("FP. %r1:%r1(10) ack %s1 win 100" + ts(tsOn, 102)),
			twinStep{user: func(c *Conn, now time.Time) { c.Close(now) }}, in(". %r12:%r12(0) ack %s2" + ts(tsOn, 103))},
		"retransmitted SYN": {wait(100 * time.Millisecond), in("S %r0:%r0(0) <mss 1400,sackOK,TS val 105 ecr 0,wscale 7>"),
			in("S %r0:%r0(0) <mss 1400,sackOK,TS val 106 ecr 0,wscale 7>"),
			wait(time.Second), in(". %r1:%r1(0) ack %s1 win 100" + ts(tsOn, 107)), send, wait(5 * time.Second)},
		"RST at RCV.NXT": {in("R %r1:%r1(0)")},
		"RST in window":  {in("R %r100:%r100(0)"), in("R %r200:%r200(0)"), wait(time.Second), in("R %r300:%r300(0)")},
		"RST out of window": {in("R %r-100:%r-100(0)"), in("R. %r1:%r1(0) ack %s2"),
			in(". %r1:%r1(0) ack %s1" + ts(tsOn, 101))},
		"SYN with a newer TSval": {in("S %r1000:%r1000(0) <mss 1400,sackOK,TS val 200 ecr 0,wscale 7>")},
		"SYN left of the window": {in("S %r-1000:%r-1000(0) <mss 1400,TS val 200 ecr 0>")},
		"old duplicate ACK": {in(". %r0:%r0(0) ack %s1" + ts(tsOn, 101)),
			in(". %r1:%r1(0) ack %s0" + ts(tsOn, 101)), in(". %r1:%r1(0) ack %s5" + ts(tsOn, 101)),
			in(". %r1:%r1(0) ack %s1" + ts(tsOn, 101))},
		"PAWS-old TSval": {in(". %r1:%r1(0) ack %s1" + ts(tsOn, 50)), wait(time.Second),
			in(". %r1:%r1(0) ack %s1" + ts(tsOn, 101))},
		"segment without ACK": {in("P %r1:%r1(10)" + ts(tsOn, 101)), in(". %r1:%r1(0) ack %s1" + ts(tsOn, 101))},
		"timer ticks":         {wait(time.Second), wait(2 * time.Second), wait(4 * time.Second), in(". %r1:%r1(0) ack %s1 win 100" + ts(tsOn, 8000)), send, wait(10 * time.Second)},
		"give-up":             {wait(10 * time.Minute)},
	}
}

// TestHalfOpenTwin: a half-open connection from SaveHalfOpen.
func TestHalfOpenTwin(t *testing.T) {
	for _, cf := range twinConfigs {
		for _, irs := range twinPeerISNs {
			q := seqs{irs: irs, iss: ourISS}
			tsOn := strings.Contains(cf.syn, "TS")
			for name, steps := range halfOpenSteps(q, tsOn) {
				t.Run(fmt.Sprintf("%s/ISN %d/%s", cf.name, irs, name), func(t *testing.T) {
					w := newTwins(t, cf.mod)
					w.both(func(h *harness) {
						s := parseSeg(t, q.f("S %r0:%r0(0) win 65535"+cf.syn)).seg
						h.c.ListenArrive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor}, &s)
					})
					w.compare("ListenSyn")
					w.run(steps)
				})
			}
		}
	}
}

// TestCookieTwin: a half-open connection rebuilt from a SYN cookie
// (HalfOpenFromCookie) when the ACK returns, against the full TCB that
// answered the same SYN. The stack restores the cookie's record only for
// the ACK that returns it, so each sequence starts with that ACK.
func TestCookieTwin(t *testing.T) {
	for _, cf := range twinConfigs {
		for _, irs := range twinPeerISNs {
			q := seqs{irs: irs, iss: ourISS}
			tsOn := strings.Contains(cf.syn, "TS")
			rows := map[string]string{
				"bare ACK":       ". %r1:%r1(0) ack %s1 win 100" + ts(tsOn, 101),
				"ACK with data":  "P. %r1:%r1(10) ack %s1 win 100" + ts(tsOn, 102),
				"ACK+FIN":        "F. %r1:%r1(0) ack %s1 win 100" + ts(tsOn, 102),
				"ACK, data, FIN": "FP. %r1:%r1(10) ack %s1 win 100" + ts(tsOn, 103),
				"same TSval":     ". %r1:%r1(0) ack %s1 win 100" + ts(tsOn, 100),
			}
			for name, ack := range rows {
				t.Run(fmt.Sprintf("%s/ISN %d/%s", cf.name, irs, name), func(t *testing.T) {
					w := newTwins(t, cf.mod)
					w.cookie = true
					s := parseSeg(t, q.f("S %r0:%r0(0) win 65535"+cf.syn)).seg
					w.full.c.ListenArrive(w.full.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor}, &s)
					w.full.out, w.full.events = nil, nil
					w.both(func(h *harness) { h.advance(200 * time.Millisecond) })
					a := parseSeg(t, q.f(ack)).seg
					o := CookieOptions{PeerMSS: 1400, LocalPort: ourPort, RemotePort: peerPort, TSOffset: tsOffsetFor}
					if tsOn {
						o.WS, o.SndShift, o.RcvShift, o.SACK = true, 7, w.comp.cfg.WindowShift(), true
						o.TS, o.TSRecent, o.SynTS = true, a.Opts.TSVal, a.Opts.TSEcr
					}
					rec := HalfOpenFromCookie(ourISS, seq.Num(irs), o)
					w.comp.restore(func(c *Conn) { c.RestoreHalfOpen(w.comp.now, &rec) })
					w.round++
					w.comp.out, w.comp.events, w.full.out, w.full.events = nil, nil, nil, nil
					w.noRTT = !tsOn
					w.step(0, twinStep{in: q.f(ack)})
					if !tsOn {
						return // the RTO differs from here on, by design
					}
					w.run([]twinStep{
						{user: func(c *Conn, now time.Time) { c.Send(now, bytesN(3000)) }},
						{advance: 5 * time.Second},
					})
				})
			}
		}
	}
}

// timeWaitSteps are what a TIME-WAIT record meets directly after restore.
// The connection's RCV.NXT is IRS+2 (the peer's FIN taken), SND.NXT ISS+2.
func timeWaitSteps(q seqs, tsOn bool) map[string][]twinStep {
	in := func(s string) twinStep { return twinStep{in: q.f(s)} }
	wait := func(d time.Duration) twinStep { return twinStep{advance: d} }
	return map[string][]twinStep{
		"retransmitted FIN": {wait(10 * time.Second), in("F. %r1:%r1(0) ack %s2" + ts(tsOn, 300)),
			wait(59 * time.Second), in("F. %r1:%r1(0) ack %s2" + ts(tsOn, 301)), wait(61 * time.Second)},
		"bare ACK at RCV.NXT, newer TSval": {in(". %r2:%r2(0) ack %s2" + ts(tsOn, 400)),
			in("S %r1:%r1(0) <TS val 350 ecr 0>"), wait(time.Second), in("S %r1:%r1(0) <TS val 450 ecr 0>")},
		"ACK of unsent data":     {in(". %r2:%r2(0) ack %s9" + ts(tsOn, 300))},
		"stray data":             {in("P. %r2:%r2(100) ack %s2" + ts(tsOn, 300)), in("P. %r-100:%r-100(50) ack %s2" + ts(tsOn, 300))},
		"RST at RCV.NXT":         {in("R %r2:%r2(0)")},
		"RST in window":          {in("R %r100:%r100(0)"), in("R %r101:%r101(0)"), wait(time.Second), in("R %r102:%r102(0)")},
		"RST out of window":      {in("R %r-100:%r-100(0)")},
		"SYN with a newer TSval": {in("S %r1000:%r1000(0) <mss 1400,TS val 500 ecr 0>")},
		"SYN with an older TSval": {in("S %r1000:%r1000(0) <mss 1400,TS val 50 ecr 0>"),
			in("S %r1000:%r1000(0) <mss 1400,TS val 51 ecr 0>")},
		"SYN without timestamps":  {in("S %r1000:%r1000(0) <mss 1400>")},
		"old SYN":                 {in("S %r-10:%r-10(0) <mss 1400>")},
		"PAWS-old TSval":          {in(". %r2:%r2(0) ack %s2" + ts(tsOn, 5)), in("F. %r1:%r1(0) ack %s2" + ts(tsOn, 5))},
		"old duplicate":           {in(". %r0:%r0(0) ack %s1" + ts(tsOn, 300))},
		"SYN+ACK":                 {in("S. %r1000:%r1000(0) ack %s2" + ts(tsOn, 300))},
		"timer tick":              {wait(30 * time.Second), wait(30 * time.Second), in("F. %r1:%r1(0) ack %s2" + ts(tsOn, 300))},
		"segment without ACK":     {in("P %r2:%r2(10)" + ts(tsOn, 300))},
		"challenge rate limit":    {in(". %r2:%r2(0) ack %s9"), in(". %r2:%r2(0) ack %s9"), wait(time.Second), in(". %r2:%r2(0) ack %s9")},
		"retransmitted FIN twice": {in("F. %r1:%r1(0) ack %s2" + ts(tsOn, 300)), in("F. %r1:%r1(0) ack %s2" + ts(tsOn, 300))},
	}
}

// TestTimeWaitTwin: a TIME-WAIT record from SaveTimeWait, reached by an
// orphan as the stack compacts it, along the two paths into TIME-WAIT.
func TestTimeWaitTwin(t *testing.T) {
	paths := map[string]func(q seqs, tsOn bool) []twinStep{
		"from FIN-WAIT-2": func(q seqs, tsOn bool) []twinStep {
			return []twinStep{
				{user: func(c *Conn, now time.Time) { c.Detach(now) }},
				{in: q.f(". %r1:%r1(0) ack %s2" + ts(tsOn, 200))},
				{advance: 3 * time.Second},
				{in: q.f("F. %r1:%r1(0) ack %s2" + ts(tsOn, 201))},
			}
		},
		"from CLOSING": func(q seqs, tsOn bool) []twinStep {
			return []twinStep{
				{user: func(c *Conn, now time.Time) { c.Detach(now) }},
				{in: q.f("F. %r1:%r1(0) ack %s1" + ts(tsOn, 200))},
				{in: q.f(". %r2:%r2(0) ack %s2" + ts(tsOn, 201))},
			}
		},
	}
	for _, cf := range twinConfigs {
		for _, irs := range twinPeerISNs {
			q := seqs{irs: irs, iss: ourISS}
			tsOn := strings.Contains(cf.syn, "TS")
			for pname, path := range paths {
				for name, steps := range timeWaitSteps(q, tsOn) {
					t.Run(fmt.Sprintf("%s/ISN %d/%s/%s", cf.name, irs, pname, name), func(t *testing.T) {
						w := newTwins(t, cf.mod)
						w.both(func(h *harness) {
							s := parseSeg(t, q.f("S %r0:%r0(0) win 65535"+cf.syn)).seg
							h.c.ListenArrive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor}, &s)
							h.in(q.f(". %r1:%r1(0) ack %s1 win 1000" + ts(tsOn, 101)))
						})
						// Both reach TIME-WAIT as full TCBs, then the twin is
						// held as a record from there on.
						for _, st := range path(q, tsOn) {
							w.both(func(h *harness) {
								switch {
								case st.in != "":
									h.in(st.in)
								case st.user != nil:
									st.user(h.c, h.now)
								default:
									h.advance(st.advance)
								}
							})
						}
						w.full.out, w.comp.out = nil, nil
						if w.full.c.State() != StateTimeWait {
							t.Fatalf("the path ends in %v", w.full.c.State())
						}
						w.run(steps)
					})
				}
			}
		}
	}
}
