package tcp

import (
	"time"

	"github.com/synack/synack/wire"
)

// negotiated holds what the SYNs agreed (RFC 9293 §3.7.1, RFC 7323 §2,
// RFC 2018 §2) and the segment size that follows from it and the path;
// timestamps, which the SYNs agree too, have a part of their own (tsState).
type negotiated struct {
	// The small fields first, packed together (the TCB's size is a heap
	// size class: see stack's TestTCBSizeClass).
	wsOK, sackOK       bool
	sndShift, rcvShift uint8  // window scales: the peer's, ours
	advMSS             uint16 // OpenOptions.MSS; 0 means Config.MSS
	sndMSS             int    // payload bytes per segment we send
	pathMSS            int    // MSS the path carries, from ICMP (RFC 1191); 0 unknown
}

// ourShift is the window scale we offer (Config.WindowShift).
func (c *Conn) ourShift() uint8 { return c.cfg.WindowShift() }

// negotiate records the options of the peer's SYN or SYN+ACK (RFC 9293
// §3.7.1, RFC 7323, RFC 2018): an option is in use when the peer sent it
// and the Config does not turn it off (we offered it, or answer it).
func (c *Conn) negotiate(now time.Time, s *wire.Segment) {
	o := &s.Opts
	peerMSS := 536 // RFC 9293 §3.7.1: the default when the SYN has no MSS option
	if o.HasMSS && o.MSS > 0 {
		peerMSS = int(o.MSS)
	}
	c.wsOK = c.cfg.WindowScaling.Enabled() && o.HasWScale
	if c.wsOK {
		c.sndShift = min(o.WScale, 14) // RFC 7323 §2.3
		c.rcvShift = c.ourShift()
	} else {
		c.sndShift, c.rcvShift = 0, 0
	}
	c.tsOK = c.cfg.Timestamps.Enabled() && o.HasTimestamp
	if c.tsOK {
		c.tsRecent, c.tsRecentAge = o.TSVal, now.UnixNano()
	}
	c.sackOK = c.cfg.SACK.Enabled() && o.SACKPermitted
	c.setSndMSS(min(peerMSS, int(c.mss())))
	c.cc = c.cfg.Congestion(c.sndMSS)
}

// mss is the MSS we advertise: Config.MSS, or the lower limit the stack
// gave for this connection's route (OpenOptions.MSS).
func (c *Conn) mss() uint16 {
	if c.advMSS != 0 && c.advMSS < c.cfg.MSS {
		return c.advMSS
	}
	return c.cfg.MSS
}

// setSndMSS sets the payload per segment from the MSS the peer allows,
// lowered to what the path carries once an ICMP message has said so.
func (c *Conn) setSndMSS(mss int) {
	if c.pathMSS > 0 {
		mss = min(mss, c.pathMSS)
	}
	if c.tsOK {
		mss -= 12 // RFC 7323 §3.2: the option rides on every segment
	}
	c.sndMSS = max(mss, 48) // Linux TCP_MIN_SND_MSS: a tiny MSS would be a DoS
}

// peerMSS recovers the MSS the peer announced from the effective send MSS.
func (c *Conn) peerMSS() uint16 {
	m := c.sndMSS
	if c.tsOK {
		m += 12
	}
	return uint16(m)
}

// WindowShift is the window scale a connection with cfg offers: the
// smallest that lets the whole receive buffer be advertised (RFC 7323
// §2.3, at most 14).
func (cfg *Config) WindowShift() uint8 {
	var s uint8
	for s < 14 && cfg.RcvBuf>>s > 0xffff {
		s++
	}
	return s
}

// sackLimit is how many SACK blocks fit in the option space.
func (c *Conn) sackLimit() int {
	if c.tsOK {
		return 3 // 40 option bytes: timestamps leave room for three blocks
	}
	return wire.MaxSACKBlocks
}
