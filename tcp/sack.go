package tcp

import (
	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// This file is the sender's SACK scoreboard (RFC 6675 §3, RFC 2018 §5):
// what the peer holds above SND.UNA, and duplicate SACKs (RFC 2883).
//
// The scoreboard is a sorted array of at most maxSACKRanges disjoint
// ranges, merged as blocks arrive: an ACK with four blocks costs at most
// four passes over it, however large the window, and its memory is fixed.
// A range that does not fit is forgotten, the highest first; SACK is
// advisory (RFC 2018 §8), so forgetting one only costs a retransmission
// the peer did not need.

const (
	maxSACKRanges = 32 // scoreboard ranges kept (Linux keeps every skb; this is our bound)
	maxLostRanges = 2*maxSACKRanges + 2
	dupThresh     = 3 // RFC 6675 §2 DupThresh, RFC 5681 §3.2
)

// scoreboard is what the peer has SACKed and what we take to be lost.
type scoreboard struct {
	sacked []span // SACKed ranges above SND.UNA, sorted and disjoint
	lost   []span // ranges marked lost and not retransmitted since, sorted and disjoint
}

// sackInfo is what one ACK's SACK option said.
type sackInfo struct {
	newly int  // bytes SACKed for the first time
	dsack bool // the first block reports a duplicate (RFC 2883 §4)
	dLeft seq.Num
	dEnd  seq.Num
}

// isDSACK applies RFC 2883 §4's two tests to the first block: it lies
// below the cumulative ACK, or inside the second block.
func isDSACK(o *wire.Options, ack seq.Num) bool {
	if o.NumSACK == 0 {
		return false
	}
	b := o.SACK[0]
	if b.Left.LessThan(ack) {
		return true
	}
	if o.NumSACK > 1 {
		c := o.SACK[1]
		return c.Left.LessThanEq(b.Left) && b.Right.LessThanEq(c.Right)
	}
	return false
}

// takeSACK folds the SACK blocks of an acceptable ACK into the scoreboard
// and reports each newly SACKed range to delivered.
func (c *Conn) takeSACK(s *wire.Segment, delivered func(a, b seq.Num)) sackInfo {
	var si sackInfo
	o := &s.Opts
	first := 0
	if isDSACK(o, s.Ack) {
		si.dsack, si.dLeft, si.dEnd = true, o.SACK[0].Left, o.SACK[0].Right
		c.bump(lcDSACKRecv)
		c.countDSACK(si.dLeft, si.dEnd)
		first = 1
	}
	lo := seq.Max(s.Ack, c.sndUna)
	for i := first; i < int(o.NumSACK); i++ {
		b := o.SACK[i]
		// A block must lie within what is outstanding; a lying or broken
		// peer's blocks are ignored (Linux tcp_is_sackblock_valid).
		if !b.Left.LessThan(b.Right) || b.Right.GreaterThan(c.sndMax) || b.Left.LessThan(lo) {
			continue
		}
		si.newly += c.addSACKed(b.Left, b.Right, delivered)
	}
	return si
}

// addSACKed records [a, b) as SACKed, reporting the parts not SACKed
// before to delivered, and returns their length.
func (c *Conn) addSACKed(a, b seq.Num, delivered func(a, b seq.Num)) int {
	n := 0
	at := a
	for _, r := range c.sacked {
		if !r.end.GreaterThan(at) {
			continue
		}
		if !r.start.LessThan(b) {
			break
		}
		if at.LessThan(r.start) {
			n += int(at.Size(r.start))
			if delivered != nil {
				delivered(at, r.start)
			}
		}
		at = seq.Max(at, r.end)
	}
	if at.LessThan(b) {
		n += int(at.Size(b))
		if delivered != nil {
			delivered(at, b)
		}
	}
	if n == 0 {
		return 0
	}
	list, ok := addSpan(c.sacked, a, b, maxSACKRanges)
	if !ok {
		// Full: forget the highest range if the new one lies below it,
		// since holes are repaired from the left.
		last := c.sacked[len(c.sacked)-1]
		if !a.LessThan(last.start) {
			return 0
		}
		c.sacked = c.sacked[:len(c.sacked)-1]
		list, _ = addSpan(c.sacked, a, b, maxSACKRanges)
	}
	c.sacked = list
	c.lost = subSpan(c.lost, a, b)
	return n
}

// trimBoard drops what the cumulative ACK covers.
func (c *Conn) trimBoard() {
	c.sacked = trimSpans(c.sacked, c.sndUna)
	c.lost = trimSpans(c.lost, c.sndUna)
}

// clearBoard forgets the scoreboard (all acknowledged, or a rewind).
func (sb *scoreboard) clearBoard() {
	sb.sacked, sb.lost = sb.sacked[:0], sb.lost[:0]
}

// sackedBytes is the sum of the scoreboard.
func (sb *scoreboard) sackedBytes() int { return spanBytes(sb.sacked) }

// lostBytes is what is marked lost and not retransmitted.
func (sb *scoreboard) lostBytes() int { return spanBytes(sb.lost) }

// sackedBelow is how much of what lies below x is SACKed.
func (sb *scoreboard) sackedBelow(x seq.Num) int {
	n := 0
	for _, r := range sb.sacked {
		if !r.start.LessThan(x) {
			break
		}
		n += int(r.start.Size(seq.Min(r.end, x)))
	}
	return n
}

// highSACKed is the end of the highest SACKed range, and whether there is one.
func (sb *scoreboard) highSACKed() (seq.Num, bool) {
	if len(sb.sacked) == 0 {
		return 0, false
	}
	return sb.sacked[len(sb.sacked)-1].end, true
}

// markLost adds [a, b) less its SACKed parts to the lost ranges; false
// when they are full.
func (sb *scoreboard) markLost(a, b seq.Num) bool {
	at := a
	for _, r := range sb.sacked {
		if !r.end.GreaterThan(at) {
			continue
		}
		if !r.start.LessThan(b) {
			break
		}
		if at.LessThan(r.start) {
			var ok bool
			if sb.lost, ok = addSpan(sb.lost, at, r.start, maxLostRanges); !ok {
				return false
			}
		}
		at = seq.Max(at, r.end)
	}
	if at.LessThan(b) {
		var ok bool
		if sb.lost, ok = addSpan(sb.lost, at, b, maxLostRanges); !ok {
			return false
		}
	}
	return true
}

// markLost6675 marks the holes RFC 6675 §4 IsLost() finds: a hole below
// DupThresh discontiguous SACKed ranges, or below more than
// (DupThresh-1)*SMSS SACKed bytes. Only what lies beyond HighRxt is
// marked: below it, every lost byte has been retransmitted (NextSeg (1.a)).
// HighRxt belongs to the recovery under way (RFC 6675 §2); outside one it
// is stale, or zero, which modulo 2^32 may lie "above" SND.UNA.
func (c *Conn) markLost6675() {
	above, ranges := c.sackedBytes(), len(c.sacked)
	prev, rxt := c.sndUna, c.sndUna
	if c.inRecovery {
		rxt = c.highRxt
	}
	for _, r := range c.sacked {
		if ranges < dupThresh && above <= (dupThresh-1)*c.sndMSS {
			return
		}
		a := seq.Max(prev, rxt)
		if a.LessThan(r.start) && !c.markLost(a, r.start) {
			return
		}
		above -= int(r.start.Size(r.end))
		ranges--
		prev = r.end
	}
}

// trimSpans drops what lies below x from a sorted list.
func trimSpans(list []span, x seq.Num) []span {
	i := 0
	for i < len(list) && list[i].end.LessThanEq(x) {
		i++
	}
	list = append(list[:0], list[i:]...)
	if len(list) > 0 && list[0].start.LessThan(x) {
		list[0].start = x
	}
	return list
}

// subSpan removes [a, b) from a sorted, disjoint list; it may split one
// range, so the list may grow by one, up to twice maxLostRanges.
func subSpan(list []span, a, b seq.Num) []span {
	for i := 0; i < len(list); i++ {
		r := list[i]
		if !r.end.GreaterThan(a) {
			continue
		}
		if !r.start.LessThan(b) {
			break
		}
		switch {
		case r.start.LessThan(a) && b.LessThan(r.end):
			if len(list) >= 2*maxLostRanges {
				list[i].end = a // bounded: the upper piece waits for the RTO
				return list
			}
			list = append(list, span{})
			copy(list[i+2:], list[i+1:])
			list[i] = span{r.start, a}
			list[i+1] = span{b, r.end}
			return list
		case r.start.LessThan(a):
			list[i].end = a
		case b.LessThan(r.end):
			list[i].start = b
			return list
		default:
			list = append(list[:i], list[i+1:]...)
			i--
		}
	}
	return list
}

func spanBytes(list []span) int {
	n := 0
	for _, r := range list {
		n += int(r.start.Size(r.end))
	}
	return n
}
