package tcp

import (
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// FuzzConn drives one connection from a fuzz-chosen Config and starting
// state through a fuzz-chosen sequence of arriving segments, timer advances
// and user calls. After every step it checks that nothing panicked, the
// harness's invariants hold, memory stays within the configured limits,
// every transition is in the table (the harness fails the test otherwise),
// what goes out is well formed, and every byte the application reads is
// the byte the peer sent at that sequence number.
//
// Input layout: two Config bytes, four start bytes (state, the peer's SYN
// options, ISS, IRS), then operations of one opcode byte and its operands;
// missing bytes read as zero.
func FuzzConn(f *testing.F) {
	for st := range byte(12) {
		// Every start state, plain and with every option, then a little
		// traffic both ways and a close.
		f.Add(fuzzSeed([]byte{0, 0, st, 0, 0, 0}, fseg(0, 0, 0, 10, 0, 0), fop(opAdvance, 0), fop(opReceive, 9),
			fop(opSend, 3), fseg(0, 0, 1<<6, 0, 0, 0), fop(opClose), fop(opAdvance, 0)))
		f.Add(fuzzSeed([]byte{0x87, 0x55, st, 0xff, 1, 1}, fop(opSend, 40), fseg(0, 0, 0, 4, 0, 0), fop(opAdvance, 0),
			fop(opReceive, 9), fop(opClose), fseg(2, 0, 1<<6, 0, 0, 0), fop(opAdvance, 3)))
	}
	// Out-of-order data, a FIN ahead of a gap, then the gap (small buffers,
	// one out-of-order range).
	f.Add(fuzzSeed([]byte{0x40, 0, 4, 0x0f, 0, 0}, fseg(0, 20, 0, 20, 0, 0), fseg(2, 60, 0, 0, 0, 0),
		fseg(0, 40, 0, 20, 0, 0), fseg(0, 0, 0, 20, 0, 0), fop(opReceive, 9), fop(opAdvance, 0)))
	// A zero window and the persist timer, in both probe forms.
	for _, cfg := range []byte{0x00, 0x20} {
		f.Add(fuzzSeed([]byte{cfg, 0, 4, 0, 0, 0}, fseg(0, 0, 0, 0, 1, 0), fop(opSend, 9), fop(opAdvance, 0),
			fop(opAdvance, 0), fseg(0, 0, 0, 0, 1, 0), fop(opAdvance, 0), fseg(0, 0, 1<<6, 0, 0, 0), fop(opAdvance, 0)))
	}
	// Three duplicate ACKs, a partial ACK, a full ACK.
	f.Add(fuzzSeed([]byte{0x40, 0, 4, 0x41, 0, 0}, fop(opSend, 200), fseg(0, 0, 0, 0, 0, 0), fop(opRepeat, 2),
		fseg(32, 0, 2, 0, 0, 0), fseg(0, 0, 1<<6, 0, 0, 0)))
	// TIME-WAIT with timestamps: a retransmitted FIN, an old and a new SYN.
	f.Add(fuzzSeed([]byte{0x01, 0, 10, 0x03, 0, 0}, fseg(2, 0x3f, 0, 0, 0, 0), fseg(1, 5, 0, 0, 0, 0xf1),
		fseg(1|16, 5, 0, 0, 0, 0x7d), fop(opReopen, 0), fop(opAdvance, 0)))
	// Keepalive in ESTABLISHED, one probe answered.
	f.Add(fuzzSeed([]byte{0x80, 0x01, 4, 0, 0, 0}, fop(opAdvance, 0), fseg(0, 0, 0, 0, 0, 0), fop(opAdvance, 0),
		fop(opAdvance, 0), fop(opAdvance, 0)))
	// A half-open connection through the compact record.
	f.Add(fuzzSeed([]byte{0x07, 0, 3, 0x0f, 0, 0}, fop(opCompact), fop(opAdvance, 0), fop(opCompact), fseg(0, 0, 0, 0, 0, 0)))

	f.Fuzz(func(t *testing.T, data []byte) {
		fz := newFuzzer(t, data)
		for step := 0; step < 200 && fz.d.more(); step++ {
			fz.step()
		}
	})
}

// Operations.
const (
	opSegment byte = iota
	opAdvance
	opSend
	opReceive
	opClose
	opAbort
	opDetach
	opSetting
	opCompact
	opReopen
	opRepeat
	numOps
)

// fuzzSeed concatenates a header and operations into a corpus entry.
func fuzzSeed(header []byte, ops ...[]byte) []byte {
	for _, o := range ops {
		header = append(header, o...)
	}
	return header
}

func fop(op byte, operands ...byte) []byte { return append([]byte{op}, operands...) }

// fseg encodes opSegment; see (*fuzzer).segment for the operands.
func fseg(fl, bs, ba, bl, bw, bt byte) []byte { return []byte{opSegment, fl, bs, ba, bl, bw, bt} }

type fuzzBytes struct {
	b []byte
	i int
}

func (d *fuzzBytes) more() bool { return d.i < len(d.b) }

func (d *fuzzBytes) byte() byte {
	if d.i >= len(d.b) {
		return 0
	}
	d.i++
	return d.b[d.i-1]
}

type fuzzer struct {
	t        *testing.T
	d        *fuzzBytes
	h        *harness
	peerTS   bool   // the peer's SYN offered timestamps
	peerTSv  uint32 // the peer's TSval clock
	synOpts  wire.Options
	iss, irs seq.Num
	read     int // bytes the application read from the current connection
	last     wire.Segment
}

// fuzzByte is the byte the peer sends at sequence number n: reassembly
// must deliver exactly these.
func fuzzByte(n seq.Num) byte { return byte(n) }

func fuzzPayload(start seq.Num, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = fuzzByte(start.Add(seq.Size(i)))
	}
	return p
}

func newFuzzer(t *testing.T, data []byte) *fuzzer {
	d := &fuzzBytes{b: data}
	b0, b1 := d.byte(), d.byte()
	h := newHarness(t, func(c *Config) {
		c.Timestamps = switchOf(b0&1 != 0)
		c.WindowScaling = switchOf(b0&2 != 0)
		c.SACK = switchOf(b0&4 != 0)
		c.RFC1337 = b0&8 != 0
		c.RFC793Rules = b0&16 != 0
		c.ZeroWindowProbeData = b0&32 != 0
		if b0&64 != 0 { // small: windows close, rings wrap, segments are short
			c.RcvBuf, c.SndBuf, c.MSS = 3000, 2000, 536
		}
		c.KeepAlive = b0&128 != 0
		c.KeepIdle = time.Duration(1+b1&3) * time.Second
		c.KeepInterval = time.Second
		c.KeepCount = 1 + int(b1>>2&3)
		c.MaxOutOfOrder = 1 + int(b1>>4&3)
		c.NoDelay = b1&64 != 0
		if b1&128 != 0 {
			c.UserTimeout = 3 * time.Second
		}
		// Short limits, so that give-ups and expiries are a few steps away.
		c.Retries, c.SynRetries, c.SynAckRetries, c.OrphanRetries = 3, 2, 2, 2
		c.MSL, c.FinWait2Timeout, c.RTOMax = 5*time.Second, 5*time.Second, 4*time.Second
	})
	fz := &fuzzer{t: t, d: d, h: h, peerTSv: 100}
	start, opts := d.byte(), d.byte()
	fz.iss = []seq.Num{1000, 0xffffff00, 0x7fffff00}[d.byte()%3]
	fz.irs = []seq.Num{5000, 0xfffffff0, 0x80000000}[d.byte()%3]
	o := &fz.synOpts
	if opts&1 != 0 {
		o.HasMSS, o.MSS = true, []uint16{1460, 536, 100, 0}[opts>>6]
	}
	if opts&2 != 0 {
		o.HasTimestamp, o.TSVal = true, fz.peerTSv
		fz.peerTS = true
	}
	if opts&4 != 0 {
		o.HasWScale, o.WScale = true, (opts>>3)&7*2+1 // 1..15
	}
	o.SACKPermitted = opts&8 != 0
	fz.reach(State(start % 12))
	fz.check(StateClosed, false)
	return fz
}

// seg builds a segment from the peer, with a timestamp when the peer uses
// them.
func (fz *fuzzer) seg(flags wire.Flags, sq, ack seq.Num, n int) wire.Segment {
	s := wire.Segment{Seq: sq, Ack: ack, Flags: flags, Wnd: 65535, Payload: fuzzPayload(sq, n)}
	if fz.peerTS {
		fz.peerTSv++
		s.Opts.HasTimestamp, s.Opts.TSVal, s.Opts.TSEcr = true, fz.peerTSv, 1
	}
	return s
}

func (fz *fuzzer) in(s wire.Segment) bool {
	fz.h.out = nil
	return fz.h.inSeg(s)
}

// reach brings the connection to state s along the usual path (11 is an
// actively opened ESTABLISHED).
func (fz *fuzzer) reach(s State) {
	h, c := fz.h, fz.h.c
	syn := func(ack bool) wire.Segment {
		f := wire.FlagSYN
		if ack {
			f |= wire.FlagACK
		}
		x := wire.Segment{Seq: fz.irs, Ack: fz.iss + 1, Flags: f, Wnd: 65535, Opts: fz.synOpts}
		return x
	}
	ack := wire.FlagACK
	open := func(active bool) {
		o := OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: fz.iss, TSOffset: 7}
		var err error
		if active {
			err = c.OpenActive(h.now, o)
		} else {
			o.RemotePort = 0
			err = c.OpenPassive(h.now, o)
		}
		if err != nil {
			fz.t.Fatal(err)
		}
	}
	switch s {
	case StateClosed:
	case StateListen:
		open(false)
	case StateSynSent:
		open(true)
	case StateSynReceived:
		open(false)
		fz.in(syn(false))
	case 11:
		open(true)
		fz.in(syn(true))
		s = StateEstablished
	case StateEstablished:
		fz.reach(StateSynReceived)
		fz.in(fz.seg(ack, fz.irs+1, fz.iss+1, 0))
	case StateFinWait1:
		fz.reach(StateEstablished)
		c.Close(h.now)
	case StateFinWait2:
		fz.reach(StateFinWait1)
		fz.in(fz.seg(ack, fz.irs+1, fz.iss+2, 0))
	case StateCloseWait:
		fz.reach(StateEstablished)
		fz.in(fz.seg(ack|wire.FlagFIN, fz.irs+1, fz.iss+1, 0))
	case StateClosing:
		fz.reach(StateFinWait1)
		fz.in(fz.seg(ack|wire.FlagFIN, fz.irs+1, fz.iss+1, 0))
	case StateLastAck:
		fz.reach(StateCloseWait)
		c.Close(h.now)
	case StateTimeWait:
		fz.reach(StateFinWait2)
		fz.in(fz.seg(ack|wire.FlagFIN, fz.irs+1, fz.iss+2, 0))
	}
	if c.State() != s {
		fz.t.Fatalf("fuzz setup: reached %v, want %v", c.State(), s)
	}
	h.out = nil
}

// step decodes and applies one operation, then checks.
func (fz *fuzzer) step() {
	h, d := fz.h, fz.d
	c := h.c
	before := c.State()
	op := d.byte() % numOps
	quiet := false // true when the operation must send nothing
	switch op {
	case opSegment:
		fz.segment()
	case opAdvance:
		b := d.byte()
		switch b % 4 {
		case 0:
			if next, ok := c.NextDeadline(); ok {
				h.advance(next.Sub(h.now))
			}
		case 1:
			h.advance(time.Duration(b) * time.Millisecond)
		case 2:
			h.advance(time.Duration(b) * 50 * time.Millisecond)
		case 3:
			h.advance(time.Duration(b) * time.Second)
		}
		quiet = before == StateClosed
	case opSend:
		p := make([]byte, int(d.byte())*23)
		room := c.Writable()
		n, err := c.Send(h.now, p)
		if n < 0 || n > len(p) || (err == nil && n != min(len(p), room)) || (err != nil && n != 0) {
			fz.t.Fatalf("Send(%d) with %d writable = %d, %v", len(p), room, n, err)
		}
	case opReceive:
		p := make([]byte, int(d.byte())*17+1)
		n, err := c.Receive(h.now, p)
		for i := range n {
			if want := fuzzByte(c.IRS() + 1 + seq.Num(fz.read+i)); p[i] != want {
				fz.t.Fatalf("byte %d read is %#x, want %#x (sequence number %d)", fz.read+i, p[i], want, c.IRS()+1+seq.Num(fz.read+i))
			}
		}
		fz.read += n
		if err == io.EOF && !c.EOF() {
			fz.t.Fatal("RECEIVE returned EOF but EOF() is false")
		}
		quiet = before == StateClosed
	case opClose:
		c.Close(h.now)
	case opAbort:
		c.Abort(h.now)
		if c.State() != StateClosed {
			fz.t.Fatalf("ABORT left %v", c.State())
		}
	case opDetach:
		c.Detach(h.now)
	case opSetting:
		b := d.byte()
		switch b % 3 {
		case 0:
			c.SetKeepAlive(h.now, b&4 != 0, time.Duration(b>>3)*time.Second, time.Second, 2)
		case 1:
			c.SetUserTimeout(h.now, time.Duration(b>>2)*100*time.Millisecond)
		case 2:
			c.SetNoDelay(h.now, b&4 != 0)
		}
	case opCompact:
		fz.compact()
	case opRepeat:
		for range d.byte()%4 + 1 {
			fz.in(fz.last)
		}
	case opReopen:
		if c.State() == StateClosed {
			fz.read = 0
			fz.iss += 100000
			if d.byte()&1 == 0 {
				fz.reach(StateListen)
			} else {
				fz.reach(StateSynSent)
			}
		}
	}
	fz.check(before, quiet)
}

// segment sends one fuzz-chosen segment from the peer: flags, SEQ and ACK
// relative to the connection's own variables, length, window, timestamp.
//
//	fl: bit 0 SYN, 1 FIN, 2 RST, 3 PSH, 4 no ACK, 5 ACK offset in 536-byte
//	    units, 6-7 SEQ offset unit (1, 1, 97, 40000)
//	bs: bits 6-7 SEQ base (RCV.NXT, RCV.NXT, IRS, right edge), 0-5 signed offset
//	ba: bits 6-7 ACK base (SND.UNA, SND.MAX, ISS, SND.UNA-MAX.SND.WND), 0-5 signed offset
//	bl: payload length (200 and up: (bl-200)·100)
//	bw: bits 0-2 window (65535, 0, 1, 100, 1000, 3000, bw<<8, bw)
//	bt: bits 0-1 timestamp (the peer's clock, TS.Recent+int8(bt), none, the SYN's options)
func (fz *fuzzer) segment() {
	d, c := fz.d, fz.h.c
	fl, bs, ba, bl, bw, bt := d.byte(), d.byte(), d.byte(), d.byte(), d.byte(), d.byte()
	var flags wire.Flags
	if fl&1 != 0 {
		flags |= wire.FlagSYN
	}
	if fl&2 != 0 {
		flags |= wire.FlagFIN
	}
	if fl&4 != 0 {
		flags |= wire.FlagRST
	}
	if fl&8 != 0 {
		flags |= wire.FlagPSH
	}
	if fl&16 == 0 { // most segments carry an ACK
		flags |= wire.FlagACK
	}
	scale := []int32{1, 1, 97, 40000}[fl>>6]
	seqBase := []seq.Num{c.rcvNxt, c.rcvNxt, c.irs, c.rcvAdv}[bs>>6]
	sq := seqBase + seq.Num(int32(int8(bs<<2)>>2)*scale)
	ackBase := []seq.Num{c.sndUna, c.sndMax, c.iss, c.sndUna - seq.Num(c.maxSndWnd)}[ba>>6]
	ackUnit := int32(1)
	if fl&32 != 0 {
		ackUnit = 536
	}
	ack := ackBase + seq.Num(int32(int8(ba<<2)>>2)*ackUnit)
	n := int(bl)
	if bl >= 200 {
		n = int(bl-200) * 100
	}
	s := fz.seg(flags, sq, ack, n)
	s.Wnd = []uint16{65535, 0, 1, 100, 1000, 3000, uint16(bw) << 8, uint16(bw)}[bw&7]
	switch {
	case bt&3 == 1: // an old or a wildly new TSval
		s.Opts.HasTimestamp, s.Opts.TSVal = true, c.tsRecent+uint32(int32(int8(bt)))
	case bt&3 == 2:
		s.Opts.HasTimestamp = false
	case bt&3 == 3 && flags&wire.FlagSYN != 0:
		s.Opts = fz.synOpts
	}
	readable, wasTW := c.Readable(), c.State() == StateTimeWait
	fz.last = s
	reopen := fz.in(s)
	if reopen && (!wasTW || c.State() != StateClosed) {
		fz.t.Fatalf("reopen from %v, now %v", StateTimeWait, c.State())
	}
	if wasTW && c.Readable() > readable {
		fz.t.Fatal("data delivered in TIME-WAIT")
	}
}

// compact round-trips the connection through the stack's compact records
// where the stack would: an unaccepted half-open connection, a TIME-WAIT.
func (fz *fuzzer) compact() {
	h := fz.h
	c := h.c
	switch {
	case c.State() == StateSynReceived && c.Passive() && c.snd.n == 0 && !c.closing && c.rcv.n == 0:
		rec := c.SaveHalfOpen()
		h.restore(func(n *Conn) { n.RestoreHalfOpen(h.now, &rec) })
	case c.State() == StateTimeWait:
		rec := c.SaveTimeWait()
		h.restore(func(n *Conn) { n.RestoreTimeWait(h.now, &rec) })
	}
}

// check asserts what must hold after every step.
func (fz *fuzzer) check(before State, quiet bool) {
	h, c, t := fz.h, fz.h.c, fz.t
	t.Helper()
	h.checkInvariants()
	if len(c.rcv.buf) > c.cfg.RcvBuf || len(c.snd.buf) > c.cfg.SndBuf || c.snd.n > c.cfg.SndBuf {
		t.Fatalf("buffers of %d and %d bytes, limits %d and %d", len(c.rcv.buf), len(c.snd.buf), c.cfg.RcvBuf, c.cfg.SndBuf)
	}
	if c.state.synchronized() || c.state == StateSynReceived {
		if int(c.rcvWnd())+c.rcv.n > c.cfg.RcvBuf {
			t.Fatalf("RCV.WND %d + %d buffered > RCV.BUFF %d: out-of-order data could overrun the buffer", c.rcvWnd(), c.rcv.n, c.cfg.RcvBuf)
		}
	}
	if c.io != nil && cap(c.io.wrap) > int(c.cfg.MSS)+1500 {
		t.Fatalf("scratch of %d bytes", cap(c.io.wrap))
	}
	if c.io != nil {
		held := 0
		for _, l := range c.io.pool.free {
			for _, b := range l {
				held += cap(b)
			}
		}
		if held != c.io.pool.held || held > PoolMax {
			t.Fatalf("pool holds %d bytes, counts %d (max %d)", held, c.io.pool.held, PoolMax)
		}
	}
	if next, ok := c.NextDeadline(); ok && !next.After(h.now) {
		t.Fatalf("a timer is due at %v but did not fire (now %v)", next, h.now)
	}
	if quiet && len(h.out) > 0 {
		t.Fatalf("sent %v from %v", h.out[0].seg, before)
	}
	for _, o := range h.out {
		s := o.seg
		if len(s.Payload) > int(c.cfg.MSS) {
			t.Fatalf("segment %v larger than our MSS %d", s, c.cfg.MSS)
		}
		if s.Flags&wire.FlagRST != 0 && (len(s.Payload) > 0 || s.Flags&(wire.FlagSYN|wire.FlagFIN) != 0) {
			t.Fatalf("malformed RST %v", s)
		}
		if s.Flags&wire.FlagSYN != 0 && len(s.Payload) > 0 {
			t.Fatalf("SYN with data %v", s)
		}
		if s.Flags&wire.FlagRST != 0 || c.state == StateClosed || c.state == StateListen {
			continue // RSTs answer the segment; a renewed TCB has new numbers
		}
		if s.Flags&wire.FlagACK != 0 && s.Ack.GreaterThan(c.rcvNxt) {
			t.Fatalf("%v acknowledges beyond RCV.NXT %d", s, c.rcvNxt)
		}
		if s.Seq.Add(s.Len()).GreaterThan(c.sndMax) {
			t.Fatalf("%v extends beyond SND.MAX %d", s, c.sndMax)
		}
	}
	h.out = nil
	if c.Err() != nil && c.State() != StateClosed {
		t.Fatalf("error %v in %v", c.Err(), c.State())
	}
	if e := c.Err(); e != nil && e != syscall.ECONNRESET && e != syscall.ECONNREFUSED && e != syscall.ETIMEDOUT {
		t.Fatalf("unexpected error %v", e)
	}
}
