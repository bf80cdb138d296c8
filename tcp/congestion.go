package tcp

// Congestion is a congestion-control algorithm (RFC 5681). Loss recovery —
// duplicate-ACK counting, fast retransmit and NewReno's partial ACKs — lives
// in the connection; an algorithm only sizes the window, so CUBIC or a SACK
// recovery can be added without touching the state machine.
type Congestion interface {
	// CWnd is the congestion window in bytes.
	CWnd() int
	// SSThresh is the slow-start threshold in bytes.
	SSThresh() int
	// OnAck reports newly acknowledged bytes outside recovery.
	OnAck(acked int)
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
}

// NewReno returns RFC 5681 slow start and congestion avoidance, the
// window part of NewReno (RFC 6582).
func NewReno(mss int) Congestion {
	return &reno{mss: mss, cwnd: 10 * mss, ssthresh: 1 << 30} // RFC 6928 initial window
}

type reno struct {
	mss, cwnd, ssthresh int
	acc                 int // bytes acked towards the next increase in congestion avoidance
}

func (r *reno) CWnd() int     { return r.cwnd }
func (r *reno) SSThresh() int { return r.ssthresh }

func (r *reno) OnAck(acked int) {
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

func (r *reno) OnLoss(flight int) {
	r.ssthresh = max(flight/2, 2*r.mss) // RFC 5681 eq. 4
	r.acc = 0
}

func (r *reno) OnRecoveryExit() { r.cwnd = r.ssthresh }

func (r *reno) OnSynLoss() { r.cwnd = r.mss }

func (r *reno) OnTimeout(flight int) {
	r.ssthresh = max(flight/2, 2*r.mss)
	r.cwnd = r.mss // loss window, RFC 5681 §3.1
	r.acc = 0
}
