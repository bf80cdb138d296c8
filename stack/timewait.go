package stack

import (
	"time"

	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// compactTimeWait swaps an orphaned connection in TIME-WAIT for a compact
// record: the full TCB and its buffers are freed.
func (s *Stack) compactTimeWait(now time.Time, c *Conn) {
	rec := c.tcp.SaveTimeWait()
	s.removeConn(c)
	if s.tw.len() >= s.cfg.TimeWaitMax {
		s.stats.TimeWaitOverflows++
		s.restoreTimeWait(now, c.t, &rec).Forget(now, tcp.CauseTWOverflow)
		return
	}
	s.tw.put(c.t, &rec)
}

func (s *Stack) restoreTimeWait(now time.Time, t tuple, rec *tcp.TimeWait) *tcp.Conn {
	sc := s.useScratch(t, false)
	sc.RestoreTimeWait(now, rec)
	return sc
}

// useScratch readies the scratch TCB for a record of 4-tuple t; cookie
// marks a SYN answered by cookie, which is traced as no connection.
func (s *Stack) useScratch(t tuple, cookie bool) *tcp.Conn {
	s.scratchT, s.scratchCookie = t, cookie
	s.initTCB(&s.scratch, (*scratchHooks)(s), (*scratchHooks)(s))
	return &s.scratch
}

// settleTimeWait stores the scratch TCB back, or forgets a record that
// reached CLOSED.
func (s *Stack) settleTimeWait(t tuple, sc *tcp.Conn) {
	if sc.State() != tcp.StateTimeWait {
		s.tw.del(&t)
		return
	}
	rec := sc.SaveTimeWait()
	s.tw.put(t, &rec) // a restarted 2MSL moves it to the log's tail
}

// twArrive runs a segment through a TIME-WAIT record; true means the
// segment is a SYN that reopens the 4-tuple.
func (s *Stack) twArrive(now time.Time, t tuple, rec tcp.TimeWait, seg *wire.Segment) bool {
	sc := s.restoreTimeWait(now, t, &rec)
	sc.SetNoReopen(!s.canReopen(&t))
	reopen := sc.SegmentArrives(now, seg)
	s.settleTimeWait(t, sc)
	return reopen
}

// dropTimeWait ends a TIME-WAIT record early (tcp_tw_reuse).
func (s *Stack) dropTimeWait(now time.Time, t tuple, cause tcp.Cause) {
	rec, ok := s.tw.get(&t)
	if !ok {
		return
	}
	s.tw.del(&t)
	s.restoreTimeWait(now, t, &rec).Forget(now, cause)
}

// twReusable is Linux's tcp_twsk_unique for Dial: a TIME-WAIT 4-tuple may
// be reused when the policy allows it, timestamps were in use (so PAWS
// protects the new connection from the old one's segments), and more than
// a second has passed since the old connection's last segment.
func (s *Stack) twReusable(now time.Time, t *tuple) bool {
	rec, ok := s.tw.get(t)
	if !ok {
		return true
	}
	switch s.cfg.TWReuse {
	case TWReuseOff:
		return false
	case TWReuseLoopback:
		if !addrOf(t.raddr).IsLoopback() {
			return false
		}
	}
	if !rec.Timestamps() { // no timestamps, no PAWS, no reuse
		return false
	}
	last := rec.Deadline - int64(s.cfg.twLife())
	return now.UnixNano()-last > int64(time.Second)
}

// TimeWaitLen returns the number of compact TIME-WAIT records.
func (s *Stack) TimeWaitLen() int { return s.tw.len() }
