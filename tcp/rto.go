package tcp

import "time"

// rttEstimator computes the retransmission timeout of RFC 6298 §2.
type rttEstimator struct {
	srtt, rttvar time.Duration
	rto          time.Duration // before back-off
	valid        bool
}

// sample folds one RTT measurement in (RFC 6298 §2.2, §2.3).
func (r *rttEstimator) sample(m time.Duration, cfg *Config) {
	if m <= 0 {
		m = time.Millisecond // clock granularity G
	}
	if !r.valid {
		r.srtt, r.rttvar, r.valid = m, m/2, true
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
	if r.valid {
		t = r.rto
	}
	for i := 0; i < backoff && t < cfg.RTOMax; i++ {
		t *= 2
	}
	return min(t, cfg.RTOMax)
}
