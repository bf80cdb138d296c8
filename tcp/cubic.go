package tcp

import (
	"math"
	"time"
)

// CUBIC's constants (RFC 9438 §4.1, §4.3).
const (
	cubicC     = 0.4                                   // C
	cubicBeta  = 0.7                                   // β_cubic
	cubicAlpha = 3 * (1 - cubicBeta) / (1 + cubicBeta) // α_cubic while W_est < cwnd_prior (§4.3)
)

// NewCubic returns CUBIC (RFC 9438) with HyStart++ (RFC 9406) in the
// initial slow start: Linux's default congestion control. Windows are
// kept in bytes (float64, so that the per-ACK fractions of §4.2 and §4.3
// add up); W_cubic(t) is the RFC's formula in segments times the MSS.
func NewCubic(mss int) Congestion {
	c := &cubic{mss: float64(mss)}
	c.cwnd, c.ssthresh = float64(10*mss), 1<<30 // RFC 6928 initial window
	c.hs.init()
	return c
}

// cubicState is what a congestion event changes, kept for Undo (§4.9).
type cubicState struct {
	cwnd, ssthresh, wMax, k, wEst, cwndPrior float64
	epoch                                    int64
}

type cubic struct {
	mss float64
	cubicState
	// restart: the next congestion avoidance stage starts a new curve at
	// the window it starts with, K = 0 and W_max = cwnd (§4.8 after a
	// timeout, §4.10 after HyStart++ leaves slow start without a loss).
	restart bool
	hs      hystart
	prior   cubicState // before the last reduction; prior.cwnd 0: none
}

func (c *cubic) CWnd() int     { return int(c.cwnd) }
func (c *cubic) SSThresh() int { return int(c.ssthresh) }

// wCubic is W_cubic(t) of §4.2, eq. 1, in bytes: C*(t-K)^3 + W_max.
func (c *cubic) wCubic(t float64) float64 {
	d := t - c.k
	return cubicC*d*d*d*c.mss + c.wMax
}

// cubicK is K of §4.2, eq. 2, in seconds: ∛((W_max - cwnd_epoch)/C), the
// windows in segments.
func cubicK(wMax, cwndEpoch, mss float64) float64 {
	return math.Cbrt((wMax - cwndEpoch) / mss / cubicC)
}

func (c *cubic) OnAck(a Ack) {
	// Grow only a window that limits the sender (RFC 7661's concern; Linux
	// tcp_is_cwnd_limited): in slow start while flight is over half of
	// cwnd, else when it fills all but a few segments of it.
	if c.cwnd < c.ssthresh {
		if 2*float64(a.Flight) < c.cwnd {
			return
		}
		if c.hs.state == hsDone {
			c.cwnd += float64(min(a.Acked, 2*int(c.mss))) // RFC 5681 §3.1, RFC 3465 L = 2
			return
		}
		grow, toCA := c.hs.onAck(&a, int(c.mss))
		c.cwnd += grow
		if toCA {
			// RFC 9406 §4.2: CSS is over, ssthresh = cwnd; RFC 9438 §4.10:
			// W_max undefined, the curve starts at this window with K = 0.
			c.ssthresh, c.cwndPrior, c.restart, c.epoch = c.cwnd, c.cwnd, true, 0
		}
		return
	}
	if float64(a.Flight)+3*c.mss < c.cwnd {
		return
	}
	now := float64(a.Now.UnixNano()) / 1e9
	if c.epoch == 0 {
		// The congestion avoidance stage begins (§4.2: t_epoch, cwnd_epoch).
		c.epoch = max(a.Now.UnixNano(), 1)
		if c.restart || c.wMax < c.cwnd {
			c.wMax, c.restart = c.cwnd, false // §4.8, §4.10 (Linux: origin point = cwnd when above W_max)
		}
		c.k = cubicK(c.wMax, c.cwnd, c.mss)
		c.wEst = c.cwnd // §4.3: W_est = cwnd_epoch
	}
	t := now - float64(c.epoch)/1e9
	rtt := a.SRTT
	if rtt <= 0 {
		rtt = a.RTT
	}
	// §4.3: the Reno-friendly estimate, α_cubic until it reaches
	// cwnd_prior, then 1.
	alpha := cubicAlpha
	if c.wEst >= c.cwndPrior {
		alpha = 1
	}
	acked := float64(a.Acked)
	c.wEst += alpha * c.mss * acked / c.cwnd
	if c.wCubic(t) < c.wEst {
		c.cwnd = c.wEst // Reno-friendly region
		return
	}
	// §4.4, §4.5: concave and convex regions, towards W_cubic(t+RTT)
	// bounded to [cwnd, 1.5 cwnd], by (target - cwnd)/cwnd per segment.
	target := min(max(c.wCubic(t+rtt.Seconds()), c.cwnd), 1.5*c.cwnd)
	c.cwnd += (target - c.cwnd) / c.cwnd * acked
}

// reduce is the congestion event of §4.6 and §4.7: W_max with fast
// convergence, cwnd_prior, ssthresh = flight_size * β_cubic. RFC 9438
// §4.6 takes FlightSize, not cwnd: synack does not keep cwnd from growing
// while application-limited in every case, which using cwnd requires.
func (c *cubic) reduce(flight int) {
	c.prior = c.cubicState
	if c.cwnd < c.wMax {
		c.wMax = c.cwnd * (1 + cubicBeta) / 2 // fast convergence (§4.7)
	} else {
		c.wMax = c.cwnd
	}
	c.cwndPrior = c.cwnd
	c.ssthresh = max(float64(flight*7/10), 2*c.mss) // β_cubic = 0.7 in integers: no 62999.99
	c.epoch = 0
	c.hs.state = hsDone // RFC 9406 §4.2: a loss ends HyStart++
}

func (c *cubic) OnLoss(flight int) { c.reduce(flight) }

// OnRecoveryExit sets cwnd to the reduced window (§4.6: cwnd = ssthresh).
func (c *cubic) OnRecoveryExit() { c.cwnd = c.ssthresh }

// OnTimeout is §4.8: Reno's loss window, ssthresh by β_cubic, and the
// next congestion avoidance stage a new curve.
func (c *cubic) OnTimeout(flight int) {
	c.reduce(flight)
	c.cwnd = c.mss
	if mutantLossWindowZero {
		c.cwnd = 0
	}
	c.restart = true
}

func (c *cubic) OnSynLoss() { c.cwnd = c.mss }

// Report shows CUBIC's variables (RFC 9438 §4.1) and HyStart++'s.
func (c *cubic) Report(s *CongestionStatus) {
	s.Algorithm = "cubic"
	s.WMax, s.WEst, s.CWndPrior = int(c.wMax), int(c.wEst), int(c.cwndPrior)
	s.K = time.Duration(c.k * float64(time.Second))
	if c.epoch != 0 {
		s.EpochStart = time.Unix(0, c.epoch)
	}
	c.hs.report(s)
}

// Undo is §4.9: the state from before the spurious congestion event comes
// back, the window never lower than it is now (Linux bictcp_undo_cwnd).
func (c *cubic) Undo() {
	if c.prior.cwnd == 0 {
		return
	}
	cwnd := max(c.cwnd, c.prior.cwnd)
	c.cubicState = c.prior
	c.cwnd = cwnd
	c.restart = false
	c.prior = cubicState{}
}
