package tcp

import (
	"syscall"
	"testing"
	"time"
)

// withTS turns timestamps on in the harness's Config.
func withTS(c *Config) { c.Timestamps = On }

// tsOffsetFor makes our TSval 1 at the epoch, so that the timestamps in
// expected segments read as milliseconds since the test began, plus one.
var tsOffsetFor = 1 - uint32(epoch.UnixMilli())

// establishedTS is a passive open with timestamps: the peer's TSvals are
// 100 (SYN) and 101 (ACK), so TS.Recent = 101; ours start at 1.
func establishedTS(h *harness) {
	h.t.Helper()
	if err := h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor}); err != nil {
		h.t.Fatal(err)
	}
	h.in("S 5000:5000(0) win 65535 <mss 1460,TS val 100 ecr 0>")
	h.wantOut("the SYN+ACK echoes the SYN's TSval", "S. 1000:1000(0) ack 5001 <mss 1460,TS val 1 ecr 100>")
	h.in(". 5001:5001(0) ack 1001 <TS val 101 ecr 1>")
	h.wantState(StateEstablished)
}

// allOptions turns on every option, with a 1 MiB receive buffer (window
// scale 5).
func allOptions(c *Config) {
	c.Timestamps, c.WindowScaling, c.SACK = On, On, On
	c.RcvBuf = 1 << 20
}

// RFC 9293 §3.7.1, RFC 7323 §2.2 and §3.2, RFC 2018 §2: a SYN+ACK answers
// only the options the SYN offered, and only those we are configured for.
func TestOptionsPassiveNegotiation(t *testing.T) {
	rows := []struct {
		what string
		mod  func(*Config)
		syn  string
		out  string
	}{
		{"a SYN with MSS only is answered with MSS only", allOptions,
			"S 5000:5000(0) <mss 1460>", "S. 1000:1000(0) ack 5001 win 65535 <mss 1460>"},
		{"a SYN without any option is still told our MSS", allOptions,
			"S 5000:5000(0)", "S. 1000:1000(0) ack 5001 win 65535 <mss 1460>"},
		{"window scale offered: we answer with the shift our buffer needs; the SYN+ACK window is unscaled", allOptions,
			"S 5000:5000(0) <mss 1460,wscale 7>", "S. 1000:1000(0) ack 5001 win 65535 <mss 1460,wscale 5>"},
		{"SACK-permitted offered: answered", allOptions,
			"S 5000:5000(0) <mss 1460,sackOK>", "S. 1000:1000(0) ack 5001 <mss 1460,sackOK>"},
		{"timestamps offered: answered, echoing the SYN's TSval", allOptions,
			"S 5000:5000(0) <mss 1460,TS val 100 ecr 0>", "S. 1000:1000(0) ack 5001 <mss 1460,TS val 1 ecr 100>"},
		{"everything offered: everything answered", allOptions,
			"S 5000:5000(0) <mss 1460,sackOK,TS val 7 ecr 0,wscale 2>", "S. 1000:1000(0) ack 5001 <mss 1460,sackOK,TS val 1 ecr 7,wscale 5>"},
		{"everything offered to a stack configured with none: MSS only", func(c *Config) {},
			"S 5000:5000(0) <mss 1460,sackOK,TS val 7 ecr 0,wscale 2>", "S. 1000:1000(0) ack 5001 <mss 1460>"},
		{"a small receive buffer needs no scaling: shift 0 is still answered", func(c *Config) { c.WindowScaling = On },
			"S 5000:5000(0) <mss 1460,wscale 7>", "S. 1000:1000(0) ack 5001 win 65535 <mss 1460,wscale 0>"},
		{"a buffer beyond 2^30 is clamped to shift 14", func(c *Config) { c.WindowScaling = On; c.RcvBuf = 1 << 31 },
			"S 5000:5000(0) <mss 1460,wscale 7>", "S. 1000:1000(0) ack 5001 win 65535 <mss 1460,wscale 14>"},
		{"our MSS setting is what we advertise", func(c *Config) { c.MSS = 1200 },
			"S 5000:5000(0) <mss 1460>", "S. 1000:1000(0) ack 5001 <mss 1200>"},
	}
	for _, r := range rows {
		t.Run(r.what, func(t *testing.T) {
			h := newHarness(t, r.mod)
			if err := h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor}); err != nil {
				t.Fatal(err)
			}
			h.in(r.syn)
			h.wantOut(r.what, r.out)
			h.checkInvariants()
		})
	}
}

// An active open offers every configured option; the SYN's window is never
// scaled (RFC 7323 §2.2).
func TestOptionsActiveSyn(t *testing.T) {
	h := newHarness(t, allOptions)
	if err := h.c.OpenActive(h.now, OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: ourISS, TSOffset: tsOffsetFor}); err != nil {
		t.Fatal(err)
	}
	h.wantOut("the SYN offers MSS, SACK, timestamps and window scale", "S 1000:1000(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,wscale 5>")
	h.in("S. 5000:5000(0) ack 1001 win 1000 <mss 1460,sackOK,TS val 100 ecr 1,wscale 7>")
	h.wantOut("the ACK carries a timestamp echoing the SYN+ACK's and our scaled window", ". 1001:1001(0) ack 5001 win 32768 <TS val 1 ecr 100>")
	st := h.c.Status()
	if !st.WScale || !st.Timestamps || !st.SACK || st.MSS != 1448 {
		t.Fatalf("status %+v: want all options on and MSS 1460-12", st)
	}
	if st.SndWnd != 1000 {
		t.Fatalf("SND.WND %d: the SYN+ACK's window must not be scaled", st.SndWnd)
	}
	h.in(". 5001:5001(0) ack 1001 win 1000 <TS val 101 ecr 1>")
	if st := h.c.Status(); st.SndWnd != 1000<<7 {
		t.Fatalf("SND.WND %d after a non-SYN segment, want %d", st.SndWnd, 1000<<7)
	}
}

// An option the peer's SYN+ACK did not return is off, in both directions.
func TestOptionsActivePeerDeclines(t *testing.T) {
	h := newHarness(t, allOptions)
	h.c.OpenActive(h.now, OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: ourISS})
	h.out = nil
	h.in("S. 5000:5000(0) ack 1001 win 1000 <mss 1460>")
	h.wantOut("no timestamp, and the window is not scaled: the whole buffer cannot be advertised", ". 1001:1001(0) ack 5001 win 65535 <>")
	h.in(". 5001:5001(0) ack 1001 win 1000")
	if st := h.c.Status(); st.WScale || st.Timestamps || st.SACK || st.SndWnd != 1000 || st.MSS != 1460 {
		t.Fatalf("status %+v: want every option off, SND.WND 1000 unscaled, MSS 1460", st)
	}
	h.in("P. 5101:5201(100) ack 1001")
	h.wantOut("out-of-order data: a duplicate ACK without SACK blocks", ". 1001:1001(0) ack 5001 <>")
}

// Options we did not offer are ignored in the SYN+ACK.
func TestOptionsActiveUnofferedIgnored(t *testing.T) {
	h := newHarness(t).synSent() // the harness offers none
	h.in("S. 5000:5000(0) ack 1001 win 1000 <mss 1460,sackOK,TS val 100 ecr 0,wscale 7>")
	h.wantOut("the ACK carries no timestamp", ". 1001:1001(0) ack 5001 <>")
	if st := h.c.Status(); st.WScale || st.Timestamps || st.SACK {
		t.Fatalf("status %+v: options we did not offer must stay off", st)
	}
}

// RFC 9293 §3.7.1: segments are sized by the peer's MSS (536 without the
// option), capped by ours, less 12 bytes when timestamps ride on every
// segment; a tiny MSS is raised to 48 bytes as Linux does.
func TestOptionsMSS(t *testing.T) {
	rows := []struct {
		what string
		mod  func(*Config)
		syn  string
		seg  int
	}{
		{"the peer's MSS sizes our segments", func(*Config) {}, "S 5000:5000(0) <mss 536>", 536},
		{"without an MSS option the default is 536", func(*Config) {}, "S 5000:5000(0)", 536},
		{"a larger peer MSS is capped by ours", func(*Config) {}, "S 5000:5000(0) <mss 9000>", 1460},
		{"timestamps take 12 bytes of every segment", withTS, "S 5000:5000(0) <mss 1460,TS val 1 ecr 0>", 1448},
		{"a tiny MSS is raised to 48 bytes", func(*Config) {}, "S 5000:5000(0) <mss 8>", 48},
		{"an MSS of zero means the default", func(*Config) {}, "S 5000:5000(0) <mss 0>", 536},
	}
	for _, r := range rows {
		t.Run(r.what, func(t *testing.T) {
			h := newHarness(t, r.mod, func(c *Config) { c.NoDelay = true })
			h.listen()
			h.in(r.syn)
			h.out = nil
			h.in(". 5001:5001(0) ack 1001")
			h.wantState(StateEstablished)
			h.send(bytesN(r.seg + 1))
			h.wantOut(r.what, ". 1001:"+u32(1001+int64(r.seg))+"("+u32(int64(r.seg))+") ack 5001", "P. "+u32(1001+int64(r.seg))+":"+u32(1002+int64(r.seg))+"(1) ack 5001")
		})
	}
}

// RFC 7323 §2.3: the shift the peer asks for is applied to every window
// after the SYN, clamped to 14.
func TestOptionsWindowScaleApplied(t *testing.T) {
	for _, r := range []struct {
		what   string
		shift  string
		window uint32
	}{
		{"a shift of 7 multiplies the window field by 128", "7", 10 << 7},
		{"a shift of 15 is clamped to 14", "15", 10 << 14},
	} {
		t.Run(r.what, func(t *testing.T) {
			h := newHarness(t, allOptions)
			h.listen()
			h.in("S 5000:5000(0) <mss 1460,wscale " + r.shift + ">")
			h.out = nil
			h.in(". 5001:5001(0) ack 1001 win 10")
			if st := h.c.Status(); st.SndWnd != r.window {
				t.Fatalf("SND.WND %d, want %d", st.SndWnd, r.window)
			}
		})
	}
	t.Run("the scaled window bounds what we send", func(t *testing.T) {
		h := newHarness(t, allOptions)
		h.listen()
		h.in("S 5000:5000(0) <mss 1460,wscale 7>")
		h.out = nil
		h.in(". 5001:5001(0) ack 1001 win 10")
		h.send(bytesN(5000))
		h.wantOut("1280 bytes fit the window", ". 1001:2281(1280) ack 5001 win 32768")
	})
}

// RFC 7323 §5.3 PAWS: a segment whose TSval is older than TS.Recent is an
// old duplicate: ACK it and drop it; a RST is exempt.
func TestOptionsPAWS(t *testing.T) {
	runArrivals(t, establishedTS, []arrival{
		{what: "data with an old TSval is not delivered; an ACK is sent",
			in: "P. 5001:5101(100) ack 1001 <TS val 50 ecr 1>", out: []string{". 1001:1001(0) ack 5001 <TS val 1 ecr 101>"}, state: StateEstablished},
		{what: "data with TSval equal to TS.Recent is accepted",
			in: "P. 5001:5101(100) ack 1001 <TS val 101 ecr 1>", state: StateEstablished, read: 100},
		{what: "a TSval that wrapped around (newer modulo 2^32) is accepted",
			in: "P. 5001:5101(100) ack 1001 <TS val 2147483700 ecr 1>", state: StateEstablished, read: 100},
		{what: "a TSval more than 2^31 behind is older and refused",
			in: "P. 5001:5101(100) ack 1001 <TS val 2147483750 ecr 1>", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "a FIN with an old TSval is refused: no CLOSE-WAIT",
			in: "F. 5001:5001(0) ack 1001 <TS val 50 ecr 1>", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "a bare ACK with an old TSval gets a (rate-limited) ACK",
			in: ". 5001:5001(0) ack 1001 <TS val 50 ecr 1>", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "a RST with an old TSval is exempt from PAWS",
			in: "R 5001:5001(0) <TS val 50 ecr 1>", state: StateClosed, err: syscall.ECONNRESET},
		{what: "a segment without a timestamp is accepted, as Linux does",
			in: "P. 5001:5101(100) ack 1001", state: StateEstablished, read: 100},
	}, withTS)
}

// RFC 7323 §4.3: TS.Recent follows the newest TSval of segments covering
// Last.ACK.sent, and every segment we send echoes it.
func TestOptionsTimestampEcho(t *testing.T) {
	h := newHarness(t, withTS)
	establishedTS(h)
	h.advance(10 * time.Millisecond)
	h.in("P. 5001:5101(100) ack 1001 <TS val 200 ecr 1>")
	h.in("P. 5201:5301(100) ack 1001 <TS val 300 ecr 1>")
	h.wantOut("out of order: the echo stays at the in-order segment's TSval", ". 1001:1001(0) ack 5101 <TS val 11 ecr 200>")
	h.in("P. 5101:5201(100) ack 1001 <TS val 250 ecr 1>")
	h.wantOut("the hole is filled: TS.Recent takes this segment's TSval", ". 1001:1001(0) ack 5301 <TS val 11 ecr 250>")
}

// RFC 7323 §5.5: a TS.Recent idle for more than 24 days is no longer used
// to refuse segments.
func TestOptionsPAWSIdleExpiry(t *testing.T) {
	h := newHarness(t, withTS)
	establishedTS(h)
	h.advance(25 * 24 * time.Hour)
	h.in("P. 5001:5101(100) ack 1001 <TS val 50 ecr 1>")
	if h.c.Readable() != 100 {
		t.Fatal("after 24 days idle an old TSval must be accepted")
	}
}

// RFC 7323 §4.1: with timestamps, the RTT is measured from TSecr, also for
// a retransmitted segment (the echo says which transmission was ACKed, so
// Karn's rule is not needed).
func TestOptionsTimestampRTT(t *testing.T) {
	h := newHarness(t, withTS)
	establishedTS(h) // the handshake ACK echoes at once: SRTT 1 ms (the clock granularity)
	h.send(bytesN(10))
	h.wantOut("data at 0 ms", "P. 1001:1011(10) ack 5001 <TS val 1 ecr 101>")
	h.expectAt(200*time.Millisecond, "retransmitted at the 200 ms minimum RTO with a fresh TSval", "P. 1001:1011(10) ack 5001 <TS val 201 ecr 101>")
	h.advance(50 * time.Millisecond)
	h.in(". 5001:5001(0) ack 1011 <TS val 102 ecr 201>")
	// RFC 6298 §2.3 with R' = 50 ms: RTTVAR = 3/4·0.5 + 1/4·|1-50|, SRTT = 7/8·1 + 1/8·50.
	if st := h.c.Status(); st.SRTT != 7125*time.Microsecond || st.RTTVar != 12625*time.Microsecond {
		t.Fatalf("SRTT %v RTTVAR %v, want 7.125ms 12.625ms", st.SRTT, st.RTTVar)
	}
}

// RFC 2018 §4: the duplicate ACK for out-of-order data reports the blocks
// held, the most recently changed first, three at most with timestamps.
func TestOptionsSACKBlocks(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SACK = On })
	h.listen()
	h.in("S 5000:5000(0) <mss 1460,sackOK>")
	h.wantOut("SACK-permitted answered", "S. 1000:1000(0) ack 5001 <mss 1460,sackOK>")
	h.in(". 5001:5001(0) ack 1001")
	h.in("P. 5101:5201(100) ack 1001")
	h.wantOut("first block", ". 1001:1001(0) ack 5001 <sack 5101:5201>")
	h.in("P. 5301:5401(100) ack 1001")
	h.wantOut("the newest block first", ". 1001:1001(0) ack 5001 <sack 5301:5401,sack 5101:5201>")
	h.in("P. 5201:5251(50) ack 1001")
	h.wantOut("a block that grows moves to the front", ". 1001:1001(0) ack 5001 <sack 5101:5251,sack 5301:5401>")
	h.in("P. 5001:5101(100) ack 1001")
	h.wantOut("the first hole filled: only the block beyond the second hole is left", ". 1001:1001(0) ack 5251 <sack 5301:5401>")
	h.in("P. 5251:5301(50) ack 1001")
	h.wantOut("all filled: no SACK blocks", ". 1001:1001(0) ack 5401 <>")
}

// With timestamps on, only three SACK blocks fit in the option space.
func TestOptionsSACKBlocksWithTimestamps(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SACK, c.Timestamps = On, On })
	h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor})
	h.in("S 5000:5000(0) <mss 1460,sackOK,TS val 100 ecr 0>")
	h.in(". 5001:5001(0) ack 1001 <TS val 101 ecr 1>")
	h.out = nil
	for _, s := range []string{"5101:5111", "5201:5211", "5301:5311", "5401:5411"} {
		h.in("P. " + s + "(10) ack 1001 <TS val 102 ecr 1>")
	}
	h.wantOut("four holes", ". 1001:1001(0) ack 5001", ". 1001:1001(0) ack 5001", ". 1001:1001(0) ack 5001",
		". 1001:1001(0) ack 5001 <sack 5401:5411,sack 5101:5111,sack 5201:5211,TS val 1 ecr 101>")
}
