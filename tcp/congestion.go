package tcp

import (
	"time"

	"github.com/synack/synack/seq"
)

// Congestion is a congestion-control algorithm (RFC 5681). Loss recovery —
// duplicate-ACK counting, fast retransmit and NewReno's partial ACKs — lives
// in the connection; an algorithm only sizes the window, so CUBIC or a SACK
// recovery can be added without touching the state machine.
type Congestion interface {
	// CWnd is the congestion window in bytes.
	CWnd() int
	// SSThresh is the slow-start threshold in bytes.
	SSThresh() int
	// OnAck reports an ACK of new data outside recovery.
	OnAck(a Ack)
	// OnLoss reports a loss detected by duplicate ACKs with flight bytes
	// outstanding; the algorithm lowers ssthresh (RFC 5681 §3.2 step 2).
	OnLoss(flight int)
	// OnRecoveryExit ends fast recovery (RFC 6582 §3.2 step 3).
	OnRecoveryExit()
	// OnTimeout reports a retransmission timeout (RFC 5681 §3.1 eq. 4).
	OnTimeout(flight int)
	// OnSynLoss reports a handshake whose SYN or SYN+ACK was lost: the
	// initial window is one segment (RFC 5681 §3.1).
	OnSynLoss()
	// Undo restores the window and threshold from before the last
	// reduction (OnLoss or OnTimeout), which loss recovery found spurious
	// (RFC 9438 §4.9; Linux tcp_undo_cwnd_reduction). It does nothing if
	// there was no reduction since the last Undo.
	//
	// Loss recovery reduces once an episode: a timeout that ends a fast
	// recovery calls Undo and then OnTimeout, so that the reduction is
	// the timeout's, made from the window before the episode; a timeout
	// that repeats one without progress calls neither.
	//
	// Issue 13 asks for undo or F-RTO (RFC 5682): undo it is, because it
	// covers a spurious fast retransmit as well as a spurious timeout,
	// because Linux's undo (DSACK or timestamps) is what peers meet, and
	// because RFC 9438 §4.9 specifies what CUBIC restores. Detection
	// belongs to loss recovery (undo.go: DSACK, RFC 2883, and the Eifel
	// timestamps, RFC 3522).
	Undo()
}

// CongestionReporter is an algorithm that shows its state in the
// connection's Status; both of synack's do.
type CongestionReporter interface {
	Report(s *CongestionStatus)
}

// CongestionStatus is a congestion control's state beyond cwnd and
// ssthresh, as Status shows it (Linux ss -i shows some of it, and the
// rest is in tcp_cubic.c's struct bictcp).
type CongestionStatus struct {
	Algorithm string // "cubic", "reno"; "" for a plugged-in algorithm that does not report

	// CUBIC (RFC 9438 §4.1): W_max, the window before the last
	// reduction (bytes; 0 until one); K, the time from the epoch to
	// W_max again; the epoch start, when the congestion avoidance stage
	// began (zero: not in one); W_est, the Reno-friendly estimate
	// (§4.3, bytes); cwnd_prior (bytes).
	WMax, WEst, CWndPrior int
	K                     time.Duration
	EpochStart            time.Time

	// HyStart++ (RFC 9406 §4.2) in the initial slow start: "slow-start",
	// "css" (Conservative Slow Start) or "done" (left, for good); rounds
	// ended so far, the round's end (windowEnd), CSS rounds, and the RTT
	// minima it compares (0: none yet).
	HyStart                                         string
	HyStartRound, CSSRounds                         int
	HyStartRoundEnd                                 seq.Num
	RoundMinRTT, LastRoundMinRTT, CSSBaselineMinRTT time.Duration
}

// Ack is what an algorithm learns from one ACK of new data. The core never
// reads a clock: Now is the time the ACK is processed.
type Ack struct {
	Now    time.Time
	Acked  int           // newly acknowledged bytes of data
	Flight int           // bytes outstanding before this ACK
	RTT    time.Duration // this ACK's RTT sample (RFC 6298 §3, RFC 7323 §4); 0: none
	SRTT   time.Duration // smoothed RTT after the sample; 0: none yet
	Seq    seq.Num       // SEG.ACK
	SndMax seq.Num       // the highest sequence number sent
}

// CongestionControl names an algorithm as Linux's
// net.ipv4.tcp_congestion_control does.
type CongestionControl uint8

// The algorithms. CUBIC is the default, as on Linux.
const (
	CongestionCubic CongestionControl = iota // "cubic": RFC 9438 with HyStart++ (RFC 9406)
	CongestionReno                           // "reno": RFC 5681 with NewReno recovery (RFC 6582)
)

func (cc CongestionControl) String() string {
	switch cc {
	case CongestionCubic:
		return "cubic"
	case CongestionReno:
		return "reno"
	}
	return "CongestionControl(?)"
}

// ParseCongestionControl parses "cubic" or "reno".
func ParseCongestionControl(s string) (CongestionControl, bool) {
	for cc := CongestionCubic; cc <= CongestionReno; cc++ {
		if cc.String() == s {
			return cc, true
		}
	}
	return 0, false
}

// New returns cc's constructor.
func (cc CongestionControl) New() func(mss int) Congestion {
	if cc == CongestionReno {
		return NewReno
	}
	return NewCubic
}

// NewReno returns RFC 5681 slow start and congestion avoidance, the
// window part of NewReno (RFC 6582).
func NewReno(mss int) Congestion {
	return &reno{mss: mss, cwnd: 10 * mss, ssthresh: 1 << 30} // RFC 6928 initial window
}

type reno struct {
	mss, cwnd, ssthresh int
	acc                 int // bytes acked towards the next increase in congestion avoidance

	priorCwnd, priorSSThresh int // before the last reduction, for Undo; 0: none
}

func (r *reno) CWnd() int     { return r.cwnd }
func (r *reno) SSThresh() int { return r.ssthresh }

func (r *reno) OnAck(a Ack) {
	acked := a.Acked
	if r.cwnd < r.ssthresh {
		r.cwnd += min(acked, 2*r.mss) // RFC 5681 §3.1 eq. 2 with RFC 3465 L = 2
		return
	}
	r.acc += acked // RFC 5681 §3.1: about one SMSS per RTT
	if r.acc >= r.cwnd {
		r.acc -= r.cwnd
		r.cwnd += r.mss
	}
}

func (r *reno) save() { r.priorCwnd, r.priorSSThresh = r.cwnd, r.ssthresh }

func (r *reno) OnLoss(flight int) {
	r.save()
	r.ssthresh = max(flight/2, 2*r.mss) // RFC 5681 eq. 4
	r.acc = 0
}

func (r *reno) OnRecoveryExit() { r.cwnd = r.ssthresh }

func (r *reno) OnSynLoss() { r.cwnd = r.mss }

func (r *reno) OnTimeout(flight int) {
	r.save()
	r.ssthresh = max(flight/2, 2*r.mss)
	r.cwnd = r.mss // loss window, RFC 5681 §3.1
	if mutantLossWindowZero {
		r.cwnd = 0
	}
	r.acc = 0
}

// Report names the algorithm: NewReno has no state beyond its windows.
func (r *reno) Report(s *CongestionStatus) { s.Algorithm = "reno" }

// Undo is Linux's tcp_undo_cwnd_reduction with tcp_reno_undo_cwnd: the
// window and threshold go back up to what they were, never down.
func (r *reno) Undo() {
	if r.priorCwnd == 0 {
		return
	}
	r.cwnd = max(r.cwnd, r.priorCwnd)
	r.ssthresh = max(r.ssthresh, r.priorSSThresh)
	r.priorCwnd, r.priorSSThresh = 0, 0
}

// ccAck tells the congestion control of an ACK of new data outside
// recovery: acked sequence numbers, data of them bytes of the send buffer.
func (c *Conn) ccAck(now time.Time, ack seq.Num, acked, data int) {
	c.cc.OnAck(Ack{
		Now: now, Acked: data, Flight: acked + int(c.sndUna.Size(c.sndMax)),
		RTT: c.rtt.latest, SRTT: c.rtt.srtt, Seq: ack, SndMax: c.sndMax,
	})
}
