package tcp

import (
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// tsState is the timestamps side of the TCB (RFC 7323): whether both ends
// agreed to them, our TSval clock, and what PAWS and the RTT measurement
// from echoes need.
type tsState struct {
	tsOK        bool    // both SYNs carried the option (RFC 7323 §3.2)
	tsOffset    uint32  // added to our millisecond clock (RFC 7323 §5.4)
	tsRecent    uint32  // RFC 7323 TS.Recent
	tsRecentAge int64   // when TS.Recent was set, Unix ns: older than 24 days it is not trusted (§5.5)
	synTS       uint32  // TSval of our first SYN or SYN+ACK: echoes older than it are not ours
	lastAckSent seq.Num // RFC 7323 Last.ACK.sent
}

// stampTS puts our timestamp option on a segment we send, when in use.
func (ts *tsState) stampTS(now time.Time, s *wire.Segment) {
	if ts.tsOK {
		s.Opts.HasTimestamp = true
		s.Opts.TSVal = ts.tsNow(now)
		s.Opts.TSEcr = ts.tsRecent
	}
}

// tsNow is our TSval clock: milliseconds plus a per-connection offset
// (RFC 7323 §5.4).
func (ts *tsState) tsNow(now time.Time) uint32 { return uint32(now.UnixMilli()) + ts.tsOffset }

// pawsReject is RFC 7323 §5.3 R1: a non-RST segment whose TSval is older
// than TS.Recent is an old duplicate. A TS.Recent idle for more than 24
// days is no longer trusted (§5.5).
func (ts *tsState) pawsReject(now time.Time, s *wire.Segment) bool {
	if !ts.tsOK || !s.Opts.HasTimestamp || s.Flags&wire.FlagRST != 0 {
		return false
	}
	if since(now, ts.tsRecentAge) > 24*24*time.Hour {
		return false
	}
	return int32(s.Opts.TSVal-ts.tsRecent) < 0
}

// updateTSRecent is RFC 7323 §4.3 (3): remember the newest TSval of a
// segment that covers Last.ACK.sent.
func (ts *tsState) updateTSRecent(now time.Time, s *wire.Segment) {
	if ts.tsOK && s.Opts.HasTimestamp && s.Seq.LessThanEq(ts.lastAckSent) && int32(s.Opts.TSVal-ts.tsRecent) >= 0 {
		ts.tsRecent, ts.tsRecentAge = s.Opts.TSVal, now.UnixNano()
	}
}
