package tcp

import (
	"math"
	"time"

	"github.com/synack/synack/seq"
)

// HyStart++ (RFC 9406) constants, the RECOMMENDED values of §4.3. synack
// does not pace, so L is 8.
const (
	hsMinRTTThresh  = 4 * time.Millisecond
	hsMaxRTTThresh  = 16 * time.Millisecond
	hsMinRTTDivisor = 8
	hsNRTTSample    = 8
	hsCSSGrowthDiv  = 4
	hsCSSRounds     = 5
	hsL             = 8
	hsInf           = time.Duration(math.MaxInt64) // "infinity"
	hsSlowStart     = 0                            // standard slow start, delay watched
	hsCSS           = 1                            // Conservative Slow Start
	hsDone          = 2                            // left for good: loss, CSS ended, or not the initial slow start
)

// hystart is RFC 9406 §4.2's state. A round is one window of data: it
// ends when an ACK covers windowEnd, the SND.NXT at its start.
type hystart struct {
	state     uint8
	started   bool // the first round has begun (windowEnd is set)
	cssRounds uint8
	samples   uint16 // rttSampleCount
	rounds    uint32 // rounds ended, for Status
	windowEnd seq.Num

	lastMin, curMin time.Duration // lastRoundMinRTT, currentRoundMinRTT
	baseline        time.Duration // cssBaselineMinRtt
}

func (h *hystart) init() {
	*h = hystart{lastMin: hsInf, curMin: hsInf, baseline: hsInf}
}

// onAck runs §4.2 for one ACK in slow start. It returns by how many bytes
// the window grows, and toCA when CSS has lasted CSS_ROUNDS rounds and
// congestion avoidance begins (ssthresh = cwnd).
func (h *hystart) onAck(a *Ack, mss int) (grow float64, toCA bool) {
	n := float64(min(a.Acked, hsL*mss)) // cwnd += min(N, L*SMSS)
	if !h.started {
		h.started, h.windowEnd = true, a.SndMax
	}
	if a.RTT > 0 {
		h.curMin = min(h.curMin, a.RTT)
		h.samples++
	}
	switch h.state {
	case hsSlowStart:
		grow = n
		if h.samples >= hsNRTTSample && h.curMin != hsInf && h.lastMin != hsInf {
			thresh := max(hsMinRTTThresh, min(h.lastMin/hsMinRTTDivisor, hsMaxRTTThresh))
			if h.curMin >= h.lastMin+thresh {
				// Delay increase: exit slow start and enter CSS.
				h.baseline, h.state, h.cssRounds = h.curMin, hsCSS, 0
			}
		}
	case hsCSS:
		grow = n / hsCSSGrowthDiv
		if h.samples >= hsNRTTSample && h.curMin < h.baseline {
			// The exit was spurious: resume slow start (with HyStart++).
			h.baseline, h.state = hsInf, hsSlowStart
		}
	}
	if a.Seq.GreaterThanEq(h.windowEnd) {
		// The round ends; the next begins with what is sent now.
		h.rounds++
		h.lastMin, h.curMin, h.samples = h.curMin, hsInf, 0
		h.windowEnd = a.SndMax
		if h.state == hsCSS {
			// The round CSS began in counts as one (it is cut short).
			h.cssRounds++
			if h.cssRounds >= hsCSSRounds {
				h.state = hsDone
				return grow, true
			}
		}
	}
	return grow, false
}

// report fills in HyStart++'s part of a CongestionStatus.
func (h *hystart) report(s *CongestionStatus) {
	s.HyStart = [...]string{hsSlowStart: "slow-start", hsCSS: "css", hsDone: "done"}[h.state]
	s.HyStartRound, s.CSSRounds = int(h.rounds), int(h.cssRounds)
	s.HyStartRoundEnd = h.windowEnd
	finite := func(d time.Duration) time.Duration {
		if d == hsInf {
			return 0
		}
		return d
	}
	s.RoundMinRTT, s.LastRoundMinRTT, s.CSSBaselineMinRTT = finite(h.curMin), finite(h.lastMin), finite(h.baseline)
}
