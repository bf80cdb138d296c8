package tcp

import (
	"math"
	"testing"
	"time"

	"github.com/synack/synack/seq"
)

// The tests of this file check CUBIC against RFC 9438's formulas and
// HyStart++ against RFC 9406 §4.2's pseudocode, driving the algorithm
// through the Congestion interface with the ACKs a connection would give.

const ccMSS = 1000

// ccDriver feeds one algorithm ACKs of one segment each, a round at a
// time: a round acknowledges what was sent when the previous one ended,
// and its last ACK finds the window sent (RFC 9406's windowEnd).
type ccDriver struct {
	t        *testing.T
	cc       Congestion
	now      time.Time
	una, max seq.Num // SEG.ACK of the last ACK, SND.NXT
}

func newCubicDriver(t *testing.T) *ccDriver {
	return &ccDriver{t: t, cc: NewCubic(ccMSS), now: time.Unix(1000, 0), una: 1, max: 1}
}

func (d *ccDriver) segs() float64 { return float64(d.cc.CWnd()) / ccMSS }

// round acknowledges one round of segments over rtt, each ACK with the RTT
// sample rttSample (0: none), and returns how many ACKs it gave.
func (d *ccDriver) round(rtt, rttSample time.Duration) int {
	if !d.max.GreaterThan(d.una) {
		d.max = d.una.Add(seq.Size(d.cc.CWnd() / ccMSS * ccMSS))
	}
	n := int(d.una.Size(d.max)) / ccMSS
	for i := range n {
		d.now = d.now.Add(rtt / time.Duration(n))
		d.una = d.una.Add(ccMSS)
		if i == n-1 {
			d.max = d.una.Add(seq.Size(d.cc.CWnd() / ccMSS * ccMSS))
		}
		d.cc.OnAck(Ack{Now: d.now, Acked: ccMSS, Flight: d.cc.CWnd(), RTT: rttSample, SRTT: rtt,
			Seq: d.una, SndMax: d.max})
	}
	return n
}

// lossAt brings the window to w segments in congestion avoidance and
// reports a loss with that much in flight, then ends recovery.
func (d *ccDriver) lossAt(w float64) {
	c := d.cc.(*cubic)
	c.cwnd, c.ssthresh = w*ccMSS, w*ccMSS
	d.cc.OnLoss(int(w * ccMSS))
	d.cc.OnRecoveryExit()
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// RFC 9438 §4.6: ssthresh = flight_size * β_cubic (0.7), cwnd = ssthresh;
// §4.7: the first event sets W_max = cwnd, a later one below W_max
// W_max = cwnd * (1 + β_cubic) / 2 (fast convergence).
func TestCubicMultiplicativeDecrease(t *testing.T) {
	d := newCubicDriver(t)
	d.lossAt(100)
	c := d.cc.(*cubic)
	if got := d.cc.SSThresh(); got != 70*ccMSS {
		t.Fatalf("ssthresh %d after a loss with 100 segments in flight, want 0.7 of it", got)
	}
	if got := d.cc.CWnd(); got != 70*ccMSS {
		t.Fatalf("cwnd %d after recovery, want ssthresh %d", got, 70*ccMSS)
	}
	if c.wMax != 100*ccMSS {
		t.Fatalf("W_max %v, want the window at the loss, 100 segments", c.wMax/ccMSS)
	}
	d.lossAt(90)
	if !near(c.wMax/ccMSS, 90*1.7/2, 1e-9) {
		t.Fatalf("W_max %v segments after a loss at 90 < W_max 100, want 90·(1+0.7)/2 = 76.5", c.wMax/ccMSS)
	}
	if got := d.cc.SSThresh(); got != 63*ccMSS {
		t.Fatalf("ssthresh %d, want 0.7·90 segments", got)
	}
	d.lossAt(2)
	if got := d.cc.SSThresh(); got != 2*ccMSS {
		t.Fatalf("ssthresh %d after a loss of 2 segments in flight, want the floor of 2 segments (RFC 5681 eq. 4)", got)
	}
}

// RFC 9438 §4.2, eq. 1 and 2: K = ∛((W_max − cwnd_epoch)/C) = ∛(30/0.4)
// ≈ 4.217 s for W_max 100 and cwnd_epoch 70, and the window follows
// W_cubic(t) = C·(t − K)³ + W_max: concave up to W_max at t = K, then convex.
func TestCubicWindowFollowsWCubic(t *testing.T) {
	d := newCubicDriver(t)
	d.lossAt(1000)
	const rtt = 100 * time.Millisecond
	start := d.now
	d.round(rtt, rtt)
	c := d.cc.(*cubic)
	wantK := math.Cbrt(300 / 0.4)
	if !near(c.k, wantK, 1e-9) {
		t.Fatalf("K %v s, want ∛((1000−700)/0.4) = %v s", c.k, wantK)
	}
	w := func(t float64) float64 { return 0.4*math.Pow(t-wantK, 3) + 1000 }
	for d.now.Sub(start) < 15*time.Second {
		d.round(rtt, rtt)
		el := d.now.Sub(start).Seconds()
		// Each ACK aims at W_cubic(t+RTT): cwnd stays within an RTT of the
		// curve (W_est, 700 + 0.53 a round, stays below it).
		lo, hi := w(el-rtt.Seconds()), w(el+rtt.Seconds())
		if got := d.segs(); got < lo-1 || got > hi+1 {
			t.Fatalf("at t = %.2f s cwnd %.2f segments, W_cubic(t ± RTT) = %.2f..%.2f", el, got, lo, hi)
		}
		if el > wantK-0.05 && el < wantK+0.05 && !near(d.segs(), 1000, 1) {
			t.Fatalf("at t = K cwnd %.2f, want W_max 1000", d.segs())
		}
	}
	if got := d.segs(); got < 1070 {
		t.Fatalf("cwnd %.1f at t = 15 s, want about W_cubic(15) = %.1f (convex region)", got, w(15))
	}
}

// RFC 9438 §4.3: with a short RTT the Reno-friendly estimate, growing by
// α_cubic = 3(1−β)/(1+β) ≈ 0.53 segments per RTT, exceeds W_cubic(t) and
// cwnd follows it; once W_est reaches cwnd_prior, α_cubic is 1.
func TestCubicRenoFriendlyRegion(t *testing.T) {
	d := newCubicDriver(t)
	d.lossAt(20)
	const rtt = time.Millisecond
	d.round(rtt, rtt) // the stage begins: W_est = cwnd_epoch = 14
	before := d.segs()
	for range 10 {
		d.round(rtt, rtt)
	}
	alpha := 3 * (1 - 0.7) / (1 + 0.7)
	grew := d.segs() - before
	// (A round here acks the whole segments of the window, a little less
	// than cwnd: hence 10 % of slack.)
	if !near(grew, 10*alpha, alpha) {
		t.Fatalf("grew %.3f segments in 10 RTTs of 1 ms, want about 10·α_cubic = %.3f", grew, 10*alpha)
	}
	c := d.cc.(*cubic)
	if c.cwnd != c.wEst {
		t.Fatalf("cwnd %v is not W_est %v in the Reno-friendly region", c.cwnd, c.wEst)
	}
	for d.segs() < 21 { // past cwnd_prior = 20
		d.round(rtt, rtt)
	}
	before = d.segs()
	for range 5 {
		d.round(rtt, rtt)
	}
	if grew := d.segs() - before; !near(grew, 5, 0.3) {
		t.Fatalf("grew %.3f segments in 5 RTTs above cwnd_prior, want about 5 (α_cubic = 1)", grew)
	}
}

// RFC 9438 §4.2: the target is at most 1.5·cwnd, so far in the convex
// region the window grows at most by half a segment per ACK.
func TestCubicTargetBounded(t *testing.T) {
	d := newCubicDriver(t)
	d.lossAt(10)
	d.round(100*time.Millisecond, 0)
	d.now = d.now.Add(60 * time.Second) // W_cubic(t) is far above cwnd
	before := d.segs()
	n := d.round(100*time.Millisecond, 0)
	if got := d.segs(); !near(got, before+0.5*float64(n), 1e-6) {
		t.Fatalf("cwnd %.2f after %d ACKs from %.2f, want +0.5 segment each: (1.5·cwnd − cwnd)/cwnd", got, n, before)
	}
}

// RFC 9438 §4.8: a timeout is Reno's loss window with ssthresh by β_cubic;
// the next congestion avoidance stage is a new curve with K = 0 and W_max
// the window it starts at.
func TestCubicTimeout(t *testing.T) {
	d := newCubicDriver(t)
	c := d.cc.(*cubic)
	c.cwnd, c.ssthresh = 40*ccMSS, 40*ccMSS
	d.cc.OnTimeout(40 * ccMSS)
	if d.cc.CWnd() != ccMSS || d.cc.SSThresh() != 28*ccMSS {
		t.Fatalf("cwnd %d ssthresh %d after a timeout with 40 segments out, want 1 and 28 segments", d.cc.CWnd(), d.cc.SSThresh())
	}
	for d.cc.CWnd() < d.cc.SSThresh() {
		d.round(100*time.Millisecond, 0)
	}
	d.round(100*time.Millisecond, 0)
	if c.k != 0 || c.wMax < 28*ccMSS || c.wMax > 40*ccMSS {
		t.Fatalf("after slow start to ssthresh: K %v, W_max %v segments; want K 0 and W_max the window at the stage's start", c.k, c.wMax/ccMSS)
	}
}

// RFC 9438 §4.9: undoing a spurious congestion event restores the window,
// ssthresh and the curve.
func TestCubicUndo(t *testing.T) {
	d := newCubicDriver(t)
	d.lossAt(100)
	c := d.cc.(*cubic)
	d.round(100*time.Millisecond, 0)
	k, wMax := c.k, c.wMax
	c.cwnd, c.ssthresh = 120*ccMSS, 120*ccMSS
	d.cc.OnLoss(120 * ccMSS)
	d.cc.OnRecoveryExit()
	if d.cc.CWnd() != 84*ccMSS {
		t.Fatalf("cwnd %d after the second loss, want 84 segments", d.cc.CWnd())
	}
	d.cc.Undo()
	if d.cc.CWnd() != 120*ccMSS || d.cc.SSThresh() != 120*ccMSS || c.k != k || c.wMax != wMax {
		t.Fatalf("after Undo cwnd %d ssthresh %d K %v W_max %v, want 120 segments, 120, %v, %v", d.cc.CWnd(), d.cc.SSThresh(), c.k, c.wMax, k, wMax)
	}
	d.cc.Undo()
	if d.cc.CWnd() != 120*ccMSS {
		t.Fatal("a second Undo changed the window")
	}
	r := NewReno(ccMSS)
	r.OnTimeout(20 * ccMSS)
	r.Undo()
	if r.CWnd() != 10*ccMSS || r.SSThresh() != 1<<30 {
		t.Fatalf("reno after a spurious timeout undone: cwnd %d ssthresh %d, want the initial 10 segments and no threshold", r.CWnd(), r.SSThresh())
	}
}

// An ACK while the sender uses under half the window in slow start (or
// all but a few segments in congestion avoidance) does not grow it.
func TestCubicNotCwndLimited(t *testing.T) {
	d := newCubicDriver(t)
	d.cc.OnAck(Ack{Now: d.now, Acked: ccMSS, Flight: 2 * ccMSS, Seq: 1001, SndMax: 2001})
	if d.cc.CWnd() != 10*ccMSS {
		t.Fatalf("cwnd %d: grew on an ACK with 2 of 10 segments in flight", d.cc.CWnd())
	}
}

// RFC 9406 §4.2: slow start grows by min(N, L·SMSS) per ACK, L = 8 when
// not paced.
func TestHyStartGrowthLimit(t *testing.T) {
	d := newCubicDriver(t)
	d.cc.OnAck(Ack{Now: d.now, Acked: 20 * ccMSS, Flight: 20 * ccMSS, Seq: 20001, SndMax: 20001})
	if got := d.cc.CWnd(); got != 18*ccMSS {
		t.Fatalf("cwnd %d after an ACK of 20 segments from 10, want +8 (L = 8)", got)
	}
}

// RFC 9406 §4.2: with N_RTT_SAMPLE (8) samples in a round and its minimum
// RTT at least lastRoundMinRTT + RttThresh (clamped to [4, 16] ms of
// lastRoundMinRTT/8) slow start ends and CSS grows by a quarter; after
// CSS_ROUNDS (5) rounds congestion avoidance begins with ssthresh = cwnd.
func TestHyStartDelayIncreaseExit(t *testing.T) {
	for _, tc := range []struct {
		base, thresh time.Duration
	}{
		{20 * time.Millisecond, 4 * time.Millisecond},   // 20/8 = 2.5 ms, raised to MIN_RTT_THRESH
		{80 * time.Millisecond, 10 * time.Millisecond},  // 80/8
		{400 * time.Millisecond, 16 * time.Millisecond}, // 50 ms, lowered to MAX_RTT_THRESH
	} {
		d := newCubicDriver(t)
		c := d.cc.(*cubic)
		d.round(tc.base, tc.base)
		d.round(tc.base, tc.base)
		// Just under the threshold: still slow start, the window doubles.
		before := d.segs()
		n := d.round(tc.base, tc.base+tc.thresh-time.Millisecond)
		if c.hs.state != hsSlowStart || d.segs() != before+float64(n) {
			t.Fatalf("base %v: RTT %v below the threshold left slow start (state %d, cwnd %.1f from %.1f)", tc.base, tc.base+tc.thresh-time.Millisecond, c.hs.state, d.segs(), before)
		}
		d.round(tc.base, tc.base) // lastRoundMinRTT back to the base
		// At the threshold: CSS after the 8th sample of the round.
		before = d.segs()
		n = d.round(tc.base, tc.base+tc.thresh)
		if c.hs.state != hsCSS {
			t.Fatalf("base %v: RTT up by %v did not enter CSS", tc.base, tc.thresh)
		}
		if want := before + 8 + float64(n-8)/4; !near(d.segs(), want, 1e-9) {
			t.Fatalf("base %v: cwnd %.2f after the round that entered CSS, want %.2f (8 ACKs of slow start, then a quarter)", tc.base, d.segs(), want)
		}
		if d.cc.SSThresh() != 1<<30 {
			t.Fatalf("ssthresh set on entering CSS")
		}
		// That round was the first of CSS_ROUNDS; four more and CSS ends.
		for i := 2; i <= 5; i++ {
			d.round(tc.base, tc.base+tc.thresh)
			if i < 5 && c.hs.state != hsCSS {
				t.Fatalf("base %v: CSS ended after %d rounds", tc.base, i)
			}
		}
		if c.hs.state != hsDone || d.cc.SSThresh() != d.cc.CWnd() {
			t.Fatalf("base %v: after 5 CSS rounds state %d, ssthresh %d cwnd %d; want congestion avoidance with ssthresh = cwnd", tc.base, c.hs.state, d.cc.SSThresh(), d.cc.CWnd())
		}
	}
}

// RFC 9406 §4.2: fewer than N_RTT_SAMPLE samples decide nothing, and a
// CSS round whose minimum RTT falls back under cssBaselineMinRtt resumes
// slow start.
func TestHyStartSamplesAndSpuriousExit(t *testing.T) {
	const base = 80 * time.Millisecond
	d := newCubicDriver(t)
	c := d.cc.(*cubic)
	d.round(base, base)
	// A round of 10 ACKs of which only 7 carry an RTT sample.
	end := d.una.Add(10 * ccMSS)
	for i := range 10 {
		var rtt time.Duration
		if i < 7 {
			rtt = 2 * base
		}
		d.una = d.una.Add(ccMSS)
		d.cc.OnAck(Ack{Now: d.now, Acked: ccMSS, Flight: d.cc.CWnd(), RTT: rtt, SRTT: base, Seq: d.una, SndMax: end})
	}
	if c.hs.state != hsSlowStart {
		t.Fatal("7 samples of a round left slow start")
	}
	d.round(base, base)
	d.round(base, base+20*time.Millisecond)
	if c.hs.state != hsCSS {
		t.Fatal("did not enter CSS")
	}
	before := d.segs()
	n := d.round(base, base)
	if c.hs.state != hsSlowStart {
		t.Fatal("a CSS round with RTTs back at the base did not resume slow start")
	}
	if want := before + 8.0/4 + float64(n-8); !near(d.segs(), want, 1e-9) {
		t.Fatalf("cwnd %.2f, want %.2f: a quarter for the 8 ACKs of CSS (the 8th decides), then full slow start", d.segs(), want)
	}
}

// RFC 9406 §4.2: a loss ends HyStart++; the slow start after a timeout is
// RFC 5681's (no CSS, at most 2 segments an ACK).
func TestHyStartEndsOnLoss(t *testing.T) {
	d := newCubicDriver(t)
	c := d.cc.(*cubic)
	d.round(50*time.Millisecond, 50*time.Millisecond)
	d.cc.OnTimeout(d.cc.CWnd())
	if c.hs.state != hsDone {
		t.Fatal("HyStart++ still on after a timeout")
	}
	d.cc.OnAck(Ack{Now: d.now, Acked: 4 * ccMSS, Flight: 4 * ccMSS, Seq: d.una.Add(4 * ccMSS), SndMax: d.una.Add(4 * ccMSS)})
	if d.cc.CWnd() != 3*ccMSS {
		t.Fatalf("cwnd %d after an ACK of 4 segments from 1, want 3 (RFC 3465 L = 2)", d.cc.CWnd())
	}
}

func TestParseCongestionControl(t *testing.T) {
	for _, name := range []string{"cubic", "reno"} {
		cc, ok := ParseCongestionControl(name)
		if !ok || cc.String() != name {
			t.Fatalf("%q parsed as %v, %v", name, cc, ok)
		}
	}
	if _, ok := ParseCongestionControl("bbr"); ok {
		t.Fatal("bbr parsed")
	}
	var def Config
	if _, ok := def.Defaults().Congestion(1000).(*cubic); !ok {
		t.Fatal("the default is not CUBIC")
	}
	rc := Config{CongestionControl: CongestionReno}
	if _, ok := rc.Defaults().Congestion(1000).(*reno); !ok {
		t.Fatal("reno is not NewReno")
	}
}
