package explore

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// connKey names one end of a connection: a host and a 4-tuple seen from it.
type connKey struct {
	host int
	id   stack.ID
}

// arrival is the segment a host's stack is processing (the last one
// delivered to it): every transition caused by a segment happens while
// the stack processes it, so the transition can be blamed on it.
type arrival struct {
	valid  bool
	forged *forgery
	flags  wire.Flags
	seq    seq.Num
	ack    seq.Num
}

// checker is the run's sim.Observer: it applies the schedule's holds,
// follows every connection's state, and notes what the invariants need.
type checker struct {
	w      *world
	next   sim.Observer // a trace recorder, when the run is drawn
	states map[connKey]tcp.State
	synSeq map[connKey]seq.Num // sequence number of the last SYN each end sent
	lastIn []arrival           // per host
	forged map[uint64]*forgery // forged packets by packet ID
	cov    *Coverage

	sacks   map[connKey]*sackView // each end's view of its peer's SACK blocks
	pending []pendingSACK         // per host: the ACK its stack is processing

	rsts     []rstSent // every RST a stack sent
	sent     int       // segments the stacks put on the wire
	lost     int       // segments lost (dropped by the schedule, random loss, partition, host down)
	problems []string
}

func newChecker(w *world) *checker {
	return &checker{w: w, states: map[connKey]tcp.State{}, synSeq: map[connKey]seq.Num{}, forged: map[uint64]*forgery{},
		sacks: map[connKey]*sackView{}}
}

func (c *checker) fail(format string, args ...any) {
	if len(c.problems) < 32 {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

// Packet implements sim.Observer.
func (c *checker) Packet(now time.Time, e *sim.PacketEvent) {
	c.w.faults.packet(e)
	if c.next != nil {
		c.next.Packet(now, e)
	}
	if e.Kind == sim.PacketSent && len(e.Pkt) > sim.DefaultMTU && e.From != nil && c.forged[e.ID] == nil {
		// The explorer's links all have the default MTU: the link drops a
		// larger packet, and TCP would send it again forever.
		c.fail("%s sent a %d-byte packet over a %d-byte link: %v", e.From.Name, len(e.Pkt), sim.DefaultMTU, e.Seg)
	}
	switch e.Kind {
	case sim.PacketSent:
		if f := c.w.forging; f != nil {
			c.forged[e.ID] = f
			return
		}
		if e.Seg == nil || c.w.faults.releasing {
			return // a held segment sent again was counted the first time
		}
		c.sent++
		hs := c.w.hostIndex(e.From)
		c.sackSent(hs, e)
		c.checkCwnd(hs)
		fl := e.Seg.Flags
		if fl&wire.FlagSYN != 0 {
			c.synSeq[connKey{c.w.hostIndex(e.From), packetID(e.Pkt, e.Seg, true)}] = e.Seg.Seq
		}
		if fl&wire.FlagRST != 0 {
			hi := c.w.hostIndex(e.From)
			if replyCauses[e.Cause] && c.lastIn[hi].forged != nil {
				return // the answer to a forged segment
			}
			c.rsts = append(c.rsts, rstSent{e.From.Name, e.Cause, packetID(e.Pkt, e.Seg, true)})
		}
	case sim.PacketDropped:
		if e.Why != whyHold && c.forged[e.ID] == nil {
			c.lost++
		}
	case sim.PacketDelivered:
		in := arrival{valid: e.Seg != nil, forged: c.forged[e.ID]}
		hi := c.w.hostIndex(e.To)
		if e.Seg != nil {
			in.flags, in.seq, in.ack = e.Seg.Flags, e.Seg.Seq, e.Seg.Ack
			if in.forged == nil {
				c.sackArrived(hi, e)
			}
		}
		c.lastIn[hi] = in
	}
}

// packetID returns the connection a packet belongs to, from the sender's
// side (local = source) or the receiver's.
func packetID(pkt []byte, s *wire.Segment, sender bool) stack.ID {
	var src, dst netip.Addr
	if len(pkt) > 0 && pkt[0]>>4 == 4 {
		v := wire.IPv4(pkt)
		src, dst = v.Src(), v.Dst()
	} else {
		v := wire.IPv6(pkt)
		src, dst = v.Src(), v.Dst()
	}
	a, b := netip.AddrPortFrom(src, s.SrcPort), netip.AddrPortFrom(dst, s.DstPort)
	if sender {
		return stack.ID{Local: a, Remote: b}
	}
	return stack.ID{Local: b, Remote: a}
}

// The causes of transitions made by an arriving RST.
var rstCauses = map[tcp.Cause]bool{
	tcp.CauseRSTReset: true, tcp.CauseRSTTimeWait: true, tcp.CauseRSTPassive: true,
	tcp.CauseRSTActive: true, tcp.CauseRSTRefused: true,
}

// Conn implements sim.Observer.
func (c *checker) Conn(now time.Time, h *sim.Host, id stack.ID, e *tcp.Event) {
	if c.next != nil {
		c.next.Conn(now, h, id, e)
	}
	hi := c.w.hostIndex(h)
	if e.Kind == tcp.EventDrop {
		c.pending[hi].set = false // refused: its SACK blocks taught the stack nothing
	}
	c.checkCwnd(hi)
	if e.Kind != tcp.EventState {
		return
	}
	key := connKey{hi, id}
	prev, ok := c.states[key]
	if !ok {
		prev = tcp.StateClosed
	}
	if !tcp.Legal(e.From, e.To) {
		c.fail("%s %v: illegal transition %v → %v (%s)", h.Name, id, e.From, e.To, e.Cause)
	}
	if prev != e.From && !(idle(prev) && idle(e.From)) {
		c.fail("%s %v: traced in %v, then a transition from %v → %v (%s)", h.Name, id, prev, e.From, e.To, e.Cause)
	}
	c.states[key] = e.To
	if c.cov != nil {
		c.cov.add(e.From, e.To)
	}
	in := c.lastIn[hi]
	if e.From == tcp.StateTimeWait && e.Cause == tcp.CauseTimeWaitReopen && !listening(h, id.Local.Port()) {
		if !c.w.strictTWSyn {
			c.w.knownBug = "a SYN ended TIME-WAIT with no listener to take it"
		} else {
			c.fail("%s %v: a SYN (%s) ended TIME-WAIT though no listener could take it; RFC 1122 §4.2.2.13 wants TIME-WAIT kept (Linux answers with an ACK)",
				h.Name, id, map[bool]string{true: "forged", false: "genuine"}[in.forged != nil])
		}
	}
	switch {
	case rstCauses[e.Cause]:
		if in.forged != nil && !in.forged.exact {
			c.fail("%s %v: a forged RST with SEG.SEQ ≠ RCV.NXT (%s) reset the connection, %v → %v (RFC 5961 §3.2 allows only an exact one)", h.Name, id, in.forged.what, e.From, e.To)
		}
	case e.To == tcp.StateEstablished:
		if in.forged != nil {
			c.fail("%s %v: a forged segment (%s) completed the handshake, %v → ESTABLISHED", h.Name, id, in.forged.what, e.From)
		}
		if e.From == tcp.StateSynReceived && in.valid && in.flags&wire.FlagSYN == 0 {
			if syn, ok := c.synSeq[key]; ok && in.ack != syn+1 {
				c.fail("%s %v: an ACK with ack %d completed the handshake of SYN %d (it should acknowledge %d)", h.Name, id, in.ack, syn, syn+1)
			}
		}
		c.w.checkPairs()
	}
}

// HostEvent implements sim.Observer.
func (c *checker) HostEvent(now time.Time, h *sim.Host, what string) {
	if c.next != nil {
		c.next.HostEvent(now, h, what)
	}
	if what == "crash" {
		// Every connection of the host vanishes with it.
		hi := c.w.hostIndex(h)
		for k := range c.states {
			if k.host == hi {
				delete(c.states, k)
			}
		}
		for k := range c.sacks {
			if k.host == hi {
				delete(c.sacks, k)
			}
		}
		c.pending[hi].set = false
	}
}

// allOrderly reports whether every application closes with CLOSE.
func (w *world) allOrderly() bool {
	for _, a := range w.apps {
		if !a.p.orderly() {
			return false
		}
	}
	return true
}

// appConn reports whether id is an application's connection.
func (w *world) appConn(id stack.ID) bool {
	for _, a := range w.apps {
		if a.c.LocalAddr() == id.Local && a.c.RemoteAddr() == id.Remote {
			return true
		}
	}
	return false
}

// listening reports whether host h has a listener on port.
func listening(h *sim.Host, port uint16) bool {
	for _, ci := range h.Stack.Snapshot() {
		if ci.State == tcp.StateListen && ci.Local.Port() == port {
			return true
		}
	}
	return false
}

func idle(s tcp.State) bool { return s == tcp.StateClosed || s == tcp.StateListen }

// checkPairs checks that the two ends of each application connection,
// when both are synchronized, agree on both initial sequence numbers.
func (w *world) checkPairs() {
	for _, a := range w.apps {
		b := a.peer
		if b == nil || a.host > b.host || a.dead || b.dead {
			continue
		}
		ca, cb := a.c.TCB(), b.c.TCB()
		if !live(ca.State()) || !live(cb.State()) {
			continue
		}
		if ca.ISS() != cb.IRS() || ca.IRS() != cb.ISS() {
			w.chk.fail("%s (%v, ISS %d IRS %d) and %s (%v, ISS %d IRS %d) are both open with different sequence spaces",
				a.name(), ca.State(), ca.ISS(), ca.IRS(), b.name(), cb.State(), cb.ISS(), cb.IRS())
		}
	}
}

func live(s tcp.State) bool { return s.Synchronized() && s != tcp.StateClosed }

// final checks the quiescent network and the applications.
func (w *world) final(idleOK bool) {
	c := w.chk
	if !idleOK {
		next, _ := w.net.Next()
		c.fail("no quiescence after %v of virtual time (next event at %v)", w.limit, next.Sub(sim.Epoch))
	}
	var open []string
	for k, st := range c.states {
		if !idle(st) && !w.hosts[k.host].Crashed() {
			open = append(open, fmt.Sprintf("%s %v in %v", w.hosts[k.host].Name, k.id, st))
		}
	}
	sort.Strings(open)
	for _, o := range open {
		c.fail("at quiescence %s", o)
	}
	for _, h := range w.hosts {
		if h.Crashed() {
			continue
		}
		if n, hf, tw := h.Stack.Len(); n+hf+tw != 0 {
			c.fail("at quiescence %s holds %d connections, %d half-open and %d TIME-WAIT records", h.Name, n, hf, tw)
		}
		if d, ok := h.Stack.NextDeadline(); ok {
			c.fail("at quiescence %s has a timer armed for %v", h.Name, d.Sub(sim.Epoch))
		}
	}
	w.checkPairs()
	normal := w.normal()
	for _, a := range w.apps {
		c.problems = append(c.problems, a.problems...)
		p := a.peer
		if p == nil && a.estab && !a.dead && a.c.TCB().Passive() {
			c.fail("%s accepted the connection %v, yet no application opened its other end", a.name(), a.c.ID())
		}
		if a.dead || p == nil {
			continue
		}
		switch {
		case a.eof && a.got != p.sent && !p.dead:
			c.fail("%s read end-of-file after %d of the %d bytes %s wrote", a.name(), a.got, p.sent, p.name())
		case !a.eof && !a.aborted && !a.early && !a.told():
			c.fail("%s read %d of %d bytes, no end-of-file, and was not told of a failure (err %v)", a.name(), a.got, p.sent, a.c.Err())
		}
		if normal && a.p.orderly() && p.p.orderly() {
			if !a.eof || a.got != p.sent {
				c.fail("both close normally, yet %s read %d of %d bytes (EOF %v)", a.name(), a.got, p.sent, a.eof)
			}
			if err := a.c.Err(); err != nil {
				c.fail("both close normally, yet %s's connection ended with %v", a.name(), err)
			} else if a.err != nil {
				c.fail("both close normally, yet %s's read returned %v", a.name(), a.err)
			}
		}
	}
	if normal && c.lost == 0 && len(c.forged) == 0 && w.allOrderly() {
		// (Forged segments draw ACKs that a closed peer answers with RST.)
		for _, r := range c.rsts {
			if !w.appConn(r.id) {
				continue // another 4-tuple: the attacker's forged handshake
			}
			if (w.sched.Faults() > 0 || w.disorder) && (r.why == tcp.CauseNoTCB || r.why == tcp.CauseAckInListen || r.why == tcp.CauseBadAckInSynSent) {
				// A duplicated or delayed segment, or the retransmission
				// a delay caused, can arrive after its connection is gone:
				// it is answered with a RST (RFC 9293 §3.10.7.1, or
				// §3.10.7.2 where a listener holds the port, or §3.10.7.3
				// where a new connection on the 4-tuple is in SYN-SENT),
				// which at most ends the peer's TIME-WAIT; the new
				// incarnation refuses it as out of its window.
				continue
			}
			if w.lnWasDown && r.why == tcp.CauseBadAckInSynSent {
				// While the listener was down, a reconnecting SYN met the
				// old connection's TIME-WAIT, which could not reopen and
				// answered with an ACK; the client resets it (RFC 9293
				// §3.10.7.3) and its SYN retransmission then opens anew.
				continue
			}
			c.fail("no segment was lost and both close normally, yet %s sent a RST (%s)", r.host, r.why)
		}
	}
}

// normal reports whether the run's applications all close normally and
// nothing but the schedule's faults disturbs them, so that each must end
// with every byte read and a clean end-of-file.
func (w *world) normal() bool {
	if !w.cs.normal || w.crashed || (w.random && w.chk.lost > 0) || w.knownBug != "" {
		return false
	}
	for _, f := range w.chk.forged {
		if f.exact {
			return false
		}
	}
	return true
}

type rstSent struct {
	host string
	why  tcp.Cause
	id   stack.ID
}

// The causes of RSTs that answer the segment being processed.
var replyCauses = map[tcp.Cause]bool{
	tcp.CauseNoTCB: true, tcp.CauseAckInListen: true, tcp.CauseBadAckInSynRcvd: true, tcp.CauseBadAckInSynSent: true,
}

// Loss recovery (issue 13 part 7). Two invariants are checked as the run
// goes, from what the wire shows and each TCB's congestion control:
//
// No retransmission of a byte the peer has SACKed. Each end's view of its
// peer's SACK blocks (RFC 2018) is rebuilt here from the ACKs that reached
// it and that its stack accepted, with the validity test a sender applies
// (a block lies above the cumulative ACK and within what was sent). RFC
// 6675 never lets NextSeg() choose a SACKed byte: rules (1) and (3) take
// holes, (4) the highest unSACKed segment, and a loss probe is sent only
// with nothing SACKed (RFC 8985 §7.2, Linux TCP_CA_Open). A retransmission
// timeout is the exception: RFC 2018 §8 has the sender ignore prior SACK
// information after one, since the receiver may have reneged, and RFC 6675
// §5.1 keeps that rule while advising to use what arrives afterwards. So
// the view is cleared when the end sends an RTO retransmission (synack,
// like Linux, keeps its scoreboard over the first timeout and may resend
// less), and a byte SACKed since must not be sent again.
//
// cwnd never below its floor. Both congestion controls (tcp/congestion.go,
// tcp/cubic.go) go down to one SMSS, the loss window after a timeout or a
// lost SYN (RFC 5681 §3.1, RFC 9438 §4.8), and never lower; ssthresh never
// below two SMSS (RFC 5681 eq. 4, RFC 9438 §4.6).

// span is a range [a, b) of sequence numbers.
type span struct{ a, b seq.Num }

// maxSACKView bounds the ranges a view keeps; beyond, the highest are
// forgotten, which only makes the check less strict.
const maxSACKView = 64

// sackView is what one end has learnt of its peer's SACK blocks since its
// last retransmission timeout.
type sackView struct {
	una, max seq.Num // highest cumulative ACK accepted, highest sequence number sent
	sacked   []span  // sorted, disjoint
}

// pendingSACK is the ACK a host's stack is processing: its blocks count
// once no drop or refusal is traced for it.
type pendingSACK struct {
	set    bool
	key    connKey
	ack    seq.Num
	blocks []wire.SACKBlock
}

// add merges [a, b) into the view.
func (v *sackView) add(a, b seq.Num) {
	out := v.sacked[:0:0]
	placed := false
	for _, r := range v.sacked {
		switch {
		case r.b.LessThan(a):
			out = append(out, r)
		case b.LessThan(r.a):
			if !placed {
				out, placed = append(out, span{a, b}), true
			}
			out = append(out, r)
		default:
			a, b = seq.Min(a, r.a), seq.Max(b, r.b)
		}
	}
	if !placed {
		out = append(out, span{a, b})
	}
	if len(out) > maxSACKView {
		out = out[:maxSACKView]
	}
	v.sacked = out
}

// overlap returns the first SACKed range that [a, b) overlaps.
func (v *sackView) overlap(a, b seq.Num) (span, bool) {
	for _, r := range v.sacked {
		if r.a.LessThan(b) && a.LessThan(r.b) && r.b.GreaterThan(v.una) {
			return r, true
		}
	}
	return span{}, false
}

// view returns the view of end k, made when it sends its first data at a:
// what lies below was its SYN, or acknowledged.
func (c *checker) view(k connKey, a seq.Num) *sackView {
	v := c.sacks[k]
	if v == nil {
		v = &sackView{una: a, max: a}
		c.sacks[k] = v
	}
	return v
}

// sackSent checks a segment host hi put on the wire against its view of
// the peer's SACK blocks.
func (c *checker) sackSent(hi int, e *sim.PacketEvent) {
	c.commitSACK(hi)
	s := e.Seg
	k := connKey{hi, packetID(e.Pkt, s, true)}
	if s.Flags&wire.FlagSYN != 0 {
		delete(c.sacks, k) // a new incarnation of the 4-tuple
		return
	}
	if len(s.Payload) == 0 {
		return
	}
	if c.cov != nil {
		c.cov.retransmitted(e.Cause)
	}
	a, b := s.Seq, s.Seq.Add(seq.Size(len(s.Payload)))
	v := c.view(k, a)
	if c.cov != nil && len(v.sacked) > 0 && e.Cause != tcp.CauseRetransmit {
		c.cov.SACKChecked++
	}
	if e.Cause == tcp.CauseRetransmit {
		v.sacked = v.sacked[:0] // RFC 2018 §8, RFC 6675 §5.1
	} else if r, ok := v.overlap(a, b); ok {
		c.fail("%s %v resent bytes %d..%d (%s), though the peer had SACKed %d..%d (RFC 6675 §4: NextSeg never picks a SACKed byte)",
			e.From.Name, k.id, a, b, e.Cause, r.a, r.b)
	}
	if b.GreaterThan(v.max) {
		v.max = b
	}
}

// sackArrived notes the ACK that reached host hi, to count once its stack
// has accepted it.
func (c *checker) sackArrived(hi int, e *sim.PacketEvent) {
	c.commitSACK(hi)
	s := e.Seg
	if s.Flags&wire.FlagACK == 0 || s.Flags&(wire.FlagSYN|wire.FlagRST) != 0 {
		return
	}
	p := &c.pending[hi]
	p.set, p.key, p.ack = true, connKey{hi, packetID(e.Pkt, s, false)}, s.Ack
	p.blocks = append(p.blocks[:0], s.Opts.SACK[:s.Opts.NumSACK]...)
}

// commitSACK folds host hi's pending ACK into its view.
func (c *checker) commitSACK(hi int) {
	p := &c.pending[hi]
	if !p.set {
		return
	}
	p.set = false
	v := c.sacks[p.key]
	if v == nil || p.ack.GreaterThan(v.max) {
		return
	}
	if p.ack.GreaterThan(v.una) {
		v.una = p.ack
	}
	for _, bl := range p.blocks {
		// The sender's test (Linux tcp_is_sackblock_valid): within what
		// is outstanding, above the cumulative ACK; a DSACK of data below
		// it is left out by the same test.
		if bl.Left.LessThan(bl.Right) && !bl.Right.GreaterThan(v.max) && !bl.Left.LessThan(v.una) {
			v.add(bl.Left, bl.Right)
		}
	}
}

// checkCwnd checks the congestion window of host hi's connections.
func (c *checker) checkCwnd(hi int) {
	for _, a := range c.w.apps {
		if a.host != hi || a.dead || !live(a.c.State()) {
			continue
		}
		cwnd, ssthresh, mss, ok := a.c.TCB().CongestionWindow()
		if !ok {
			continue
		}
		if cwnd < mss {
			c.fail("%s: cwnd %d bytes, below its floor of one SMSS (%d) (RFC 5681 §3.1)", a.name(), cwnd, mss)
		}
		if ssthresh < 2*mss {
			c.fail("%s: ssthresh %d bytes, below two SMSS (%d) (RFC 5681 eq. 4)", a.name(), ssthresh, 2*mss)
		}
	}
}
