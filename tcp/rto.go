package tcp

import (
	"time"

	"github.com/synack/synack/wire"
)

// rttEstimator computes the retransmission timeout of RFC 6298 §2.
type rttEstimator struct {
	srtt, rttvar time.Duration
	rto          time.Duration // before back-off
	latest       time.Duration // the sample of the ACK being processed; 0: none (RFC 9406 currRTT)
	valid        bool
	fallback     bool // no sample from the handshake: rto is RTOFallback
}

// RTOFallback is the RTO once a handshake ends without an RTT sample (its
// SYN or SYN+ACK was retransmitted and no timestamp told which copy was
// answered): RFC 6298 §5.7, Linux TCP_TIMEOUT_FALLBACK in tcp_init_metrics.
const RTOFallback = 3 * time.Second

// handshakeDone applies RFC 6298 §5.7 when the handshake gave no sample.
func (r *rttEstimator) handshakeDone(cfg *Config) {
	if !r.valid {
		r.fallback, r.rto = true, min(max(RTOFallback, cfg.RTOInitial), cfg.RTOMax)
	}
}

// sample folds one RTT measurement in (RFC 6298 §2.2, §2.3).
func (r *rttEstimator) sample(m time.Duration, cfg *Config) {
	if m <= 0 {
		m = time.Millisecond // clock granularity G
	}
	r.latest = m
	if !r.valid {
		r.srtt, r.rttvar, r.valid, r.fallback = m, m/2, true, false
	} else {
		d := r.srtt - m
		if d < 0 {
			d = -d
		}
		r.rttvar = (3*r.rttvar + d) / 4 // beta = 1/4
		r.srtt = (7*r.srtt + m) / 8     // alpha = 1/8
	}
	r.rto = r.srtt + max(time.Millisecond, 4*r.rttvar)
	r.rto = min(max(r.rto, cfg.RTOMin), cfg.RTOMax) // RFC 6298 §2.4, §2.5
}

// timeout returns the RTO after backoff doublings (RFC 6298 §5.5), capped
// at RTOMax.
func (r *rttEstimator) timeout(cfg *Config, backoff int) time.Duration {
	t := cfg.RTOInitial // RFC 6298 §2.1
	if r.valid || r.fallback {
		t = r.rto
	}
	for i := 0; i < backoff && t < cfg.RTOMax; i++ {
		t *= 2
	}
	return min(t, cfg.RTOMax)
}

// maxEcho bounds the age of a plausible timestamp echo, as Linux
// tcp_rtt_tsopt_us does (INT_MAX microseconds).
const maxEcho = uint32(1<<31-1) / 1000

// echoRTT returns the RTT a TSecr gives (RFC 7323 §4.1), and false when
// the echo cannot be one of ours: ahead of our clock, older than our first
// SYN, or older than Linux accepts. A peer or middlebox that writes a
// wrong TSecr must not poison SRTT for the life of the connection.
func (c *Conn) echoRTT(now time.Time, ecr uint32) (time.Duration, bool) {
	age := c.tsNow(now) - ecr
	if int32(age) < 0 || age >= maxEcho || int32(ecr-c.synTS) < 0 {
		return 0, false
	}
	return time.Duration(age) * time.Millisecond, true
}

// sampleRTT feeds the estimator from an ACK of new data (RFC 6298 §2):
// from the one timed segment, never a retransmitted one (Karn's rule, RFC
// 6298 §3); failing that, from the echoed timestamp (RFC 7323 §4.1) when
// it is plausible. Linux tcp_ack_update_rtt prefers the ACK's own timing
// too: a middlebox or peer can write any TSecr.
func (c *Conn) sampleRTT(now time.Time, s *wire.Segment) {
	sampled := false
	c.rtt.latest = 0
	if c.timing && s.Ack.GreaterThanEq(c.rttSeq) {
		c.rtt.sample(since(now, c.rttStart), c.cfg)
		c.timing, sampled = false, true
	} else if c.tsOK && s.Opts.HasTimestamp && s.Opts.TSEcr != 0 {
		if m, ok := c.echoRTT(now, s.Opts.TSEcr); ok {
			c.rtt.sample(m, c.cfg)
			c.timing, sampled = false, true
		}
	}
	if sampled {
		// RFC 6298 §5, after 5.7: the backed-off RTO stays until a new
		// valid measurement (Linux resets icsk_backoff only there).
		c.backoff = 0
	}
}
