package stack

import (
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// SYN cookies (RFC 4987 §3.6). The ISN of our SYN+ACK encodes everything
// needed to rebuild the connection when the ACK returns, so a listener
// under a SYN flood keeps no state per SYN:
//
//	cookie = H1(4-tuple) + peer ISN + (count << 24) + ((H2(4-tuple, count) + mss index) mod 2^24)
//
// count advances every 64 s and a cookie is valid for two periods. As
// Linux does (cookie_init_timestamp), when the peer sends timestamps the
// low six bits of our TSval carry its window scale (4 bits, 15 = none) and
// SACK-permitted, so a connection accepted by cookie keeps window scaling
// (gVisor's cookies drop it).

var cookieMSS = [...]uint16{536, 1300, 1440, 1460}

const (
	cookiePeriod  = 64 // seconds
	cookieMaxAge  = 2  // periods
	cookieTSBits  = 6
	cookieTSMask  = 1<<cookieTSBits - 1
	cookieNoScale = 0xf
	cookieSACK    = 0x10
)

func (s *Stack) cookieISS(t *tuple, peerISS seq.Num, count, idx uint32) seq.Num {
	h1 := keyedHash(&s.keys.cookie1, t, 0)
	h2 := keyedHash(&s.keys.cookie2, t, count)
	return seq.Num(h1 + uint32(peerISS) + count<<24 + (h2+idx)&0xffffff)
}

// cookieCheck validates the cookie an ACK returns and recovers the MSS
// index.
func (s *Stack) cookieCheck(t *tuple, seg *wire.Segment, now time.Time) (uint32, bool) {
	cookie := uint32(seg.Ack) - 1
	peerISS := uint32(seg.Seq) - 1
	x := cookie - keyedHash(&s.keys.cookie1, t, 0) - peerISS
	count := uint32(now.Unix() / cookiePeriod)
	age := (count - x>>24) & 0xff
	if age > cookieMaxAge {
		return 0, false
	}
	c := count - age
	idx := (x - keyedHash(&s.keys.cookie2, t, c)) & 0xffffff
	if idx >= uint32(len(cookieMSS)) {
		return 0, false
	}
	return idx, true
}

// sendCookie answers a SYN with a cookie and forgets it.
func (s *Stack) sendCookie(now time.Time, t tuple, syn *wire.Segment) {
	peerMSS := uint16(536)
	if syn.Opts.HasMSS {
		peerMSS = syn.Opts.MSS
	}
	var idx uint32
	for i, m := range cookieMSS {
		if m <= peerMSS {
			idx = uint32(i)
		}
	}
	iss := s.cookieISS(&t, syn.Seq, uint32(now.Unix()/cookiePeriod), idx)
	in := *syn
	in.Payload = nil
	tsOff := s.tsOffset(&t)
	if in.Opts.HasTimestamp && s.cfg.TCP.Timestamps.Enabled() {
		opts := uint32(cookieNoScale)
		if in.Opts.HasWScale && s.cfg.TCP.WindowScaling.Enabled() {
			opts = uint32(min(in.Opts.WScale, 14))
		}
		if in.Opts.SACKPermitted && s.cfg.TCP.SACK.Enabled() {
			opts |= cookieSACK
		}
		ms := uint32(now.UnixMilli())
		tsNow := ms + tsOff
		tsval := tsNow&^cookieTSMask | opts
		if int32(tsval-tsNow) > 0 {
			tsval -= 1 << cookieTSBits // never ahead of our clock
		}
		// The TSval is thus up to 63 ms older than the SYN+ACK, and the
		// connection's first RTT sample (from the ACK's TSecr) as much too
		// long. Linux's cookie_init_timestamp does the same and accepts
		// it: no send time is kept for a cookie, so nothing better is
		// known, and the estimator folds later samples in (RFC 6298 §2.3).
		tsOff = tsval - ms
	} else {
		// Without timestamps there is nowhere to keep window scale and
		// SACK-permitted: offer neither.
		in.Opts.HasWScale, in.Opts.SACKPermitted = false, false
	}
	s.useScratch(t, true).ListenArrive(now, tcp.OpenOptions{LocalPort: t.lport, ISS: iss, TSOffset: tsOff, MSS: s.routeMSS(now, &t)}, &in)
	s.scratchCookie = false
	s.initTCB(&s.scratch, nil, nil)
	s.stats.SynCookiesSent++
}

// cookieValid is how long after its last cookie a listener checks the
// ACKs that may return one (Linux TCP_SYNCOOKIE_VALID).
const cookieValid = 2 * time.Minute

// cookieRecent says whether l sent a cookie recently enough that an ACK
// may carry one back.
func (s *Stack) cookieRecent(l *Listener, now time.Time) bool {
	return s.cfg.SynCookies != CookiesNever && !l.lastCookie.IsZero() && now.Sub(l.lastCookie) <= cookieValid
}

// cookieAccept rebuilds a connection from an ACK carrying a valid cookie.
// It reports whether the ACK was consumed.
func (s *Stack) cookieAccept(now time.Time, l *Listener, t tuple, seg *wire.Segment) bool {
	idx, ok := s.cookieCheck(&t, seg, now)
	if !ok {
		s.stats.SynCookiesFailed++
		return false
	}
	if len(l.acceptQ) >= l.backlog {
		s.stats.ListenOverflows++
		s.segDrop(now, &t, seg, DropAcceptQueueFull)
		return true
	}
	o := tcp.CookieOptions{PeerMSS: cookieMSS[idx], LocalPort: t.lport, RemotePort: t.rport, TSOffset: s.tsOffset(&t)}
	if seg.Opts.HasTimestamp && seg.Opts.TSEcr != 0 && s.cfg.TCP.Timestamps.Enabled() {
		bits := seg.Opts.TSEcr & cookieTSMask
		if ws := bits & 0xf; ws != cookieNoScale {
			o.WS, o.SndShift, o.RcvShift = true, uint8(min(ws, 14)), s.cfg.TCP.WindowShift()
		}
		o.SACK = bits&cookieSACK != 0
		o.TS, o.TSRecent, o.SynTS = true, seg.Opts.TSVal, seg.Opts.TSEcr
	}
	rec := tcp.HalfOpenFromCookie(seg.Ack-1, seg.Seq-1, o)
	rec.MSS = s.routeMSS(now, &t)
	s.useScratch(t, false).RestoreCookie(now, &rec)
	s.scratch.SegmentArrives(now, seg)
	switch s.scratch.State() {
	case tcp.StateSynReceived, tcp.StateListen, tcp.StateClosed:
		s.initTCB(&s.scratch, nil, nil)
		s.stats.SynCookiesFailed++
		return true
	}
	s.stats.SynCookiesRecv++
	s.promote(now, l, t)
	return true
}
