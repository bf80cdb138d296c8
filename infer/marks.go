package infer

import (
	"fmt"
	"time"

	"github.com/synack/synack/wire"
)

// Mark kinds, as --format json writes them and tshark's tcp.analysis
// flags name them where one exists.
const (
	MarkRetransmission = "retransmission"          // tcp.analysis.retransmission
	MarkFastRetransmit = "fast-retransmission"     // tcp.analysis.fast_retransmission
	MarkSpurious       = "spurious-retransmission" // tcp.analysis.spurious_retransmission
	MarkOutOfOrder     = "out-of-order"            // tcp.analysis.out_of_order
	MarkLostSegment    = "previous-segment-lost"   // tcp.analysis.lost_segment
	MarkDupAck         = "duplicate-ack"           // tcp.analysis.duplicate_ack
	MarkZeroWindow     = "zero-window"             // tcp.analysis.zero_window
	MarkWindowProbe    = "zero-window-probe"       // tcp.analysis.zero_window_probe
	MarkKeepalive      = "keep-alive"              // tcp.analysis.keep_alive
	MarkWindowUpdate   = "window-update"           // tcp.analysis.window_update
	MarkSynRetry       = "syn-retry"
	MarkRST            = "rst"
	MarkChallengeAck   = "challenge-ack"
	MarkRTT            = "rtt" // tcp.analysis.ack_rtt
)

// Mark is one finding about a segment: what it is and the rule behind it.
type Mark struct {
	Kind string
	Rule string // the rule, its reference first ("RFC 6298 §5.5: ...")
}

func (s *Seg) mark(kind, rule string, args ...any) {
	if len(args) > 0 {
		rule = fmt.Sprintf(rule, args...)
	}
	s.marks = append(s.marks, Mark{Kind: kind, Rule: rule})
}

// Has reports whether the segment carries a mark of this kind.
func (s *Seg) Has(kind string) bool {
	for _, m := range s.marks {
		if m.Kind == kind {
			return true
		}
	}
	return false
}

// flow is one direction's analysis, at the capture point, in the manner
// of Wireshark's tcp.analysis (epan/dissectors/packet-tcp.c), so that the
// marks can be checked against tshark's.
type flow struct {
	seen          bool
	nextSeq       uint32        // the highest sequence number sent, plus one
	nextSeqT      time.Duration // when nextSeq last advanced
	lastAck       uint32
	lastAckT      time.Duration
	lastWin       uint16
	ackSeen       bool
	dupAcks       int
	wscale        uint8
	first         map[uint32]time.Duration   // each segment's first copy, by its start
	copies        map[uint32][]time.Duration // retransmitted starts: each copy's time
	pending       []sent                     // segments awaiting an ACK, for RTT
	synSeq        uint32
	synN          int
	synT          time.Duration
	lastKeepalive bool
}

type sent struct {
	end   uint32
	t     time.Duration
	frame int
	again bool // retransmitted (Karn: no RTT sample)
}

// oooDefault is tshark's out-of-order threshold without a handshake: a
// segment that fails to advance the sequence within this time of the last
// that did is out of order, not resent. With one, the threshold is the
// handshake's round trip (the latest SYN to the ACK of the SYN+ACK).
const oooDefault = 3 * time.Millisecond

// analyse marks each segment as tshark's TCP analysis would, in the same
// order of checks (epan/dissectors/packet-tcp.c), each with the RFC rule
// behind it; where this differs from tshark it says so.
func (cn *Conn) analyse() {
	var f [2]flow
	for i := range f {
		f[i].copies = map[uint32][]time.Duration{}
		f[i].first = map[uint32]time.Duration{}
	}
	var irtt, lastSyn time.Duration
	synSeen, synAcked := false, false
	for _, s := range cn.Segs {
		fw, rv := &f[s.from], &f[1-s.from]
		if s.has(wire.FlagSYN) && s.Opts.HasWScale {
			fw.wscale = s.Opts.WScale
		}
		switch {
		case s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN:
			lastSyn, synSeen = s.T, true
		case s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN|wire.FlagACK:
			synAcked = true
		case irtt == 0 && synSeen && synAcked && s.has(wire.FlagACK) && !s.has(wire.FlagRST):
			irtt = s.T - lastSyn
		}
		seglen := uint32(s.Len)
		ctl := s.has(wire.FlagSYN | wire.FlagFIN | wire.FlagRST)
		end := s.Seq + s.SeqLen()

		// Zero-window probe (RFC 9293 §3.8.6.1): one byte at SND.NXT
		// into a closed window.
		zwp := fw.seen && seglen == 1 && s.Seq == fw.nextSeq && rv.ackSeen && rv.lastWin == 0
		keepalive := false
		if zwp {
			s.mark(MarkWindowProbe, "RFC 9293 §3.8.6.1: zero-window probe, one byte into a closed window")
		} else {
			// Zero window (RFC 9293 §3.8.6.2): the receiver is full.
			if s.Win == 0 && !ctl {
				s.mark(MarkZeroWindow, "RFC 9293 §3.8.6: zero window, the sender must stop and probe")
			}
			if fw.seen && after(s.Seq, fw.nextSeq) && !s.has(wire.FlagRST) {
				s.mark(MarkLostSegment, "a segment before this one was not captured: lost before the capture point, or not seen by it")
			}
			// Keepalive (RFC 1122 §4.2.3.6): nothing or one byte, one
			// below SND.NXT. (Linux's zero-window probe has this form
			// too; tshark calls it a keepalive, and so does this.)
			if fw.seen && seglen <= 1 && s.Seq == fw.nextSeq-1 && !ctl {
				keepalive = true
				s.mark(MarkKeepalive, "RFC 1122 §4.2.3.6: keepalive probe, SEQ = SND.NXT - 1")
			}
			same := fw.ackSeen && seglen == 0 && s.Seq == fw.nextSeq && s.Ack == fw.lastAck && !ctl && s.Win != 0
			switch {
			case same && s.Win != fw.lastWin:
				s.mark(MarkWindowUpdate, "RFC 9293 §3.8.6.2.2: window update")
			case same && rv.lastKeepalive:
				// The answer to a keepalive, not a duplicate ACK.
			case same:
				fw.dupAcks++
				s.mark(MarkDupAck, "RFC 5681 §2: duplicate ACK #%d of %d", fw.dupAcks, s.Ack-cn.isnOr(1-s.from))
			}
		}
		if fw.ackSeen && s.Ack != fw.lastAck {
			fw.dupAcks = 0
		}

		if (seglen > 0 || s.has(wire.FlagSYN|wire.FlagFIN)) && !keepalive {
			notAdvanced := fw.seen && after(fw.nextSeq, s.Seq)
			if seglen > 1 && fw.nextSeq-1 == s.Seq {
				notAdvanced = false // new data after a probe's byte
			}
			thr := oooDefault
			if irtt > 0 {
				thr = irtt
			}
			marked := true
			switch {
			case seglen > 0 && rv.ackSeen && atLeast(rv.lastAck, s.Seq+seglen):
				s.mark(MarkSpurious, "RFC 3522, RFC 5682: spurious retransmission, the data was already acknowledged")
			case notAdvanced && rv.dupAcks >= 2 && rv.lastAck == s.Seq && within(s.T-rv.lastAckT, 20*time.Millisecond):
				s.mark(MarkFastRetransmit, "RFC 5681 §3.2: third duplicate ACK, fast retransmit")
			case notAdvanced && within(s.T-fw.nextSeqT, thr) && fw.nextSeq != end:
				s.mark(MarkOutOfOrder, "out of order: sent before the segment captured ahead of it, or overtaken on the way")
			case notAdvanced:
				prev := fw.copies[s.Seq]
				if t0, ok := fw.first[s.Seq]; ok {
					prev = append([]time.Duration{t0}, prev...)
				}
				rule := "RFC 6298 §5.4: retransmission timeout, retransmit the earliest unacknowledged segment"
				if n := len(prev); n > 0 {
					gap := s.T - prev[n-1]
					rule += ", " + fmtDur(gap) + " after the previous copy"
					if n > 1 {
						if g0 := prev[n-1] - prev[n-2]; g0 > 0 {
							rule += fmt.Sprintf(" (back-off ×%.1f, RFC 6298 §5.5)", float64(gap)/float64(g0))
						}
					}
				}
				s.mark(MarkRetransmission, "%s", rule)
			default:
				marked = false
			}
			if s.has(wire.FlagSYN) && !s.has(wire.FlagACK) {
				if fw.synN > 0 && s.Seq == fw.synSeq {
					s.mark(MarkSynRetry, "RFC 6298 §5.5, RFC 9293 §3.8.1: SYN retry %d, %s after the previous copy (the timer doubles each time)", fw.synN, fmtDur(s.T-fw.synT))
				}
				fw.synSeq, fw.synT = s.Seq, s.T
				fw.synN++
			}
			if marked {
				for k := range fw.pending {
					if !after(fw.pending[k].end, end) {
						fw.pending[k].again = true
					}
				}
				fw.copies[s.Seq] = append(fw.copies[s.Seq], s.T)
			} else if !zwp {
				fw.pending = append(fw.pending, sent{end: end, t: s.T, frame: s.Frame})
				if len(fw.pending) > 4096 {
					fw.pending = fw.pending[1:]
				}
				if len(fw.first) > 65536 {
					clear(fw.first)
					clear(fw.copies)
				}
				if _, ok := fw.first[s.Seq]; !ok {
					fw.first[s.Seq] = s.T
				}
			}
		}
		// The highest sequence number sent so far (a probe's byte does
		// not count).
		if !zwp && (!fw.seen || after(end, fw.nextSeq)) && !s.has(wire.FlagRST) {
			fw.nextSeq, fw.nextSeqT, fw.seen = end, s.T, true
		}
		fw.lastKeepalive = keepalive

		if s.has(wire.FlagACK) && !s.has(wire.FlagRST) {
			if !fw.ackSeen || after(s.Ack, fw.lastAck) {
				// RTT: the newest segment this ACK covers, if it was
				// sent once (Karn's rule, RFC 6298 §3).
				var best *sent
				k := 0
				for k < len(rv.pending) && atLeast(s.Ack, rv.pending[k].end) {
					best = &rv.pending[k]
					k++
				}
				if best != nil && !best.again {
					s.rtt, s.rttOf = s.T-best.t, best.frame
				}
				rv.pending = rv.pending[k:]
			}
			fw.lastAck, fw.lastAckT = s.Ack, s.T
			fw.lastWin, fw.ackSeen = s.Win, true
		}
	}
}

// within: 0 ≤ d < limit. A capture whose timestamps go backwards (two
// writers) fails it, as tshark's unsigned difference does.
func within(d, limit time.Duration) bool { return d >= 0 && d < limit }

func (cn *Conn) isnOr(side int) uint32 {
	n, _ := cn.isn(side)
	return n
}

// fmtDur writes a gap briefly: "1.000s", "200ms".
func fmtDur(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.3fs", d.Seconds())
	}
	return d.Round(10 * time.Microsecond).String()
}
