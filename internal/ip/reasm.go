package ip

import (
	"net/netip"
	"slices"
	"time"

	"github.com/synack/synack/wire"
)

// Result says what Add did with a fragment, for the counters.
type Result uint8

const (
	Pending     Result = iota // kept; the datagram is not complete yet
	Done                      // completed a datagram: Add returned it
	Duplicate                 // an exact duplicate of a fragment held: ignored, the datagram kept
	BadFragment               // the fragment alone is bad (a non-last fragment whose length is not a multiple of 8): dropped, the datagram kept
	Discarded                 // the datagram was discarded: overlap, conflicting or exceeded end, over 65535 bytes, too many fragments
	NoRoom                    // the fragment does not fit in the memory bound even after evicting older datagrams: dropped
)

const (
	// reasmFragOverhead is charged per fragment on top of its data, for
	// the bookkeeping, so that a flood of tiny fragments is bounded too
	// (Linux charges each fragment's skb truesize, not its data).
	reasmFragOverhead = 64
	// reasmMaxFrags bounds the fragments of one datagram, so that tiny
	// fragments cannot make the sorted insert quadratic (Linux's
	// ipfrag_max_dist and the rbtree serve a similar end).
	reasmMaxFrags = 128
	// reasmQuoteData is how much of the first fragment's data is kept
	// past its headers for an ICMP Time Exceeded quote (RFC 792: the
	// header and the first 64 bits; more is allowed and helps the sender).
	reasmQuoteData = 64
	// reasmMax4 and reasmMax6 bound a datagram's data: an IPv4 total
	// length and an IPv6 payload length are 16-bit fields (RFC 791 §3.1,
	// RFC 8200 §4.5), so more is the "ping of death".
	reasmMax4 = 0xffff - wire.IPv4MinHeaderLen
	reasmMax6 = 0xffff
)

// reasmKey identifies a datagram: RFC 791 §3.2 (IPv4: source, destination,
// protocol, identification); RFC 8200 §4.5 (IPv6: source, destination,
// identification; proto is 0, since the fragments' next headers may
// differ and only the first one's counts).
type reasmKey struct {
	src, dst netip.Addr
	id       uint32
	version  uint8
	proto    uint8
}

// reasmFrag is one fragment held: its data covers [off, end).
type reasmFrag struct {
	off, end int
	last     bool // MF was clear
	data     []byte
}

// reasmDgram is a datagram in progress.
type reasmDgram struct {
	key      reasmKey
	deadline int64       // Unix nanoseconds
	frags    []reasmFrag // sorted by off, disjoint
	end      int         // the data's length, fixed by the last fragment; -1 until it comes
	have     int         // data bytes held
	cost     int         // bytes accounted for r.maxBytes
	// From the offset-0 fragment, which the reassembled header copies
	// (RFC 8200 §4.5: the unfragmentable part and next header come from
	// it; Linux likewise keeps the first fragment's IPv4 header).
	proto, tos, ttl uint8
	ecn             uint8  // bit 1<<codepoint for every ECN codepoint seen
	quote           []byte // start of the offset-0 fragment as it arrived
	dead            bool   // freed; its FIFO entry awaits removal
}

// Reassembler puts IPv4 and IPv6 fragments back together. It is not safe
// for concurrent use: its caller serialises calls, as the stack does.
// Datagrams are kept in a map by key and in a FIFO by first arrival, which
// is also deadline order since the timeout is fixed and the caller's clock
// does not go back; the FIFO serves expiry and eviction, so nothing
// depends on map order.
type Reassembler struct {
	maxBytes int
	timeout  time.Duration
	bytes    int // accounted over all datagrams
	dgrams   map[reasmKey]*reasmDgram
	fifo     []*reasmDgram // fifo[head:] by first arrival; fifo[head] is live
	head     int
	dead     int    // dead entries in fifo[head:]
	out      []byte // the last reassembled packet
	evicted  int    // datagrams evicted to make room (Evicted)
}

// Init sets the bounds: maxBytes is the memory all datagrams in progress
// may hold (each fragment's data plus reasmFragOverhead, and the quote kept
// from a first fragment); timeout is how long a datagram may take from its
// first-arriving fragment (Linux ipfrag_time, 30 s by default; RFC 8200
// §4.5 allows at most 60 s).
func (r *Reassembler) Init(maxBytes int, timeout time.Duration) {
	*r = Reassembler{maxBytes: maxBytes, timeout: timeout, dgrams: make(map[reasmKey]*reasmDgram)}
}

// Add files one fragment: pkt is the raw packet and p what wire.ParsePacket
// returned for it with ErrFragment. On Done it returns the whole
// datagram as an unfragmented IP packet with a 20-byte IPv4 or 40-byte
// IPv6 header (options and extension headers dropped), which
// wire.ParsePacket parses like any other; the slice is the Reassembler's
// and valid until the next call of Add. Otherwise it returns nil.
//
// Add does not expire datagrams: the caller runs Expire from its timer.
func (r *Reassembler) Add(now time.Time, pkt []byte, p *wire.Packet) ([]byte, Result) {
	if r.dgrams == nil {
		r.Init(r.maxBytes, r.timeout)
	}
	key, ok := fragKey(p)
	if !ok {
		return nil, BadFragment
	}
	off, n, more := int(p.FragOffset), len(p.Payload), p.MoreFragments
	end := off + n
	switch {
	case off == 0 && !more, off%8 != 0:
		// Not a fragment, or an offset the 8-byte field cannot carry:
		// p does not come from ParsePacket's ErrFragment.
		return nil, BadFragment
	case more && n == 0:
		// An empty non-last fragment adds nothing (Linux drops it too).
		return nil, BadFragment
	case more && n%8 != 0:
		// RFC 8200 §4.5: a fragment with M set must be a multiple of 8
		// octets long; the offsets of the next ones could not fit.
		return nil, BadFragment
	}
	d := r.dgrams[key]
	limit := reasmMax4
	if key.version == 6 {
		limit = reasmMax6
	}
	if end > limit {
		// RFC 8200 §4.5, RFC 791: the datagram would overflow its length
		// field ("ping of death"); its other fragments are useless.
		return r.discard(d)
	}
	i := 0
	if d != nil {
		// The last fragment fixes the end (RFC 791 §3.2, RFC 8200 §4.5);
		// a different end, or data past it, means corruption or an
		// attack, and Linux discards the whole queue.
		high := 0
		if len(d.frags) > 0 {
			high = d.frags[len(d.frags)-1].end
		}
		if !more && (d.end >= 0 && end != d.end || high > end) {
			return r.discard(d)
		}
		if more && d.end >= 0 && end > d.end {
			return r.discard(d)
		}
		i, _ = slices.BinarySearchFunc(d.frags, off, func(f reasmFrag, off int) int { return f.off - off })
		if i < len(d.frags) && d.frags[i].off == off {
			f := &d.frags[i]
			if f.end == end && f.last == !more {
				// An exact duplicate is ignored (Linux; RFC 5722 as
				// amended by erratum 3089): networks do duplicate.
				return nil, Duplicate
			}
			// RFC 5722 §4: any other overlap discards the datagram
			// (Linux does the same for IPv4 since 2018).
			return r.discard(d)
		}
		if i > 0 && d.frags[i-1].end > off || i < len(d.frags) && d.frags[i].off < end {
			return r.discard(d) // RFC 5722 §4, as above
		}
		if len(d.frags) >= reasmMaxFrags {
			return r.discard(d)
		}
	}
	var quote []byte
	if off == 0 {
		quote = quoteOf(pkt, p)
	}
	cost := n + reasmFragOverhead + len(quote)
	own := 0
	if d != nil {
		own = d.cost
	}
	if own+cost > r.maxBytes {
		// Evicting the others would not help.
		return nil, NoRoom
	}
	// Make room by evicting the oldest datagrams (Linux evicts the oldest
	// when over ipfrag_high_thresh), never the one this fragment joins.
	// free may move the head past j, leaving nil entries behind it.
	for j := r.head; r.bytes+cost > r.maxBytes && j < len(r.fifo); j++ {
		if e := r.fifo[j]; e != nil && !e.dead && e != d {
			r.free(e)
			r.evicted++
		}
	}
	if d == nil {
		d = &reasmDgram{key: key, deadline: now.Add(r.timeout).UnixNano(), end: -1}
		r.dgrams[key] = d
		r.fifo = append(r.fifo, d)
	}
	d.frags = slices.Insert(d.frags, i, reasmFrag{off: off, end: end, last: !more, data: append([]byte(nil), p.Payload...)})
	d.have += n
	d.cost += cost
	r.bytes += cost
	d.ecn |= 1 << (p.TOS & 3)
	if !more {
		d.end = end
	}
	if off == 0 {
		d.proto, d.tos, d.ttl, d.quote = p.Protocol, p.TOS, p.TTL, quote
	}
	// The fragments are disjoint and within [0, end), so holding end
	// bytes means no gap is left.
	if d.end < 0 || d.have != d.end {
		r.compact()
		return nil, Pending
	}
	tos := d.tos
	if d.ecn&(1<<3) != 0 {
		// RFC 3168 §5.3: reassembly must not lose a congestion mark, and
		// must not set CE if a fragment was Not-ECT: then drop.
		if d.ecn&1 != 0 {
			return r.discard(d)
		}
		tos |= 3
	}
	r.out = r.out[:0]
	if key.version == 4 {
		// A fresh header: offset 0, MF and DF clear, no options; the
		// identification is kept (RFC 791 §3.2).
		r.out = wire.AppendIPv4(r.out, &wire.IPv4Header{Src: key.src, Dst: key.dst, Protocol: key.proto,
			TTL: d.ttl, TOS: tos, ID: uint16(key.id)}, d.end)
	} else {
		r.out = wire.AppendIPv6(r.out, &wire.IPv6Header{Src: key.src, Dst: key.dst, NextHeader: d.proto,
			HopLimit: d.ttl, TrafficClass: tos}, d.end)
	}
	for _, f := range d.frags {
		r.out = append(r.out, f.data...)
	}
	r.free(d)
	r.compact()
	return r.out, Done
}

// fragKey returns the datagram key of p, or false when p cannot be a
// fragment of an IP datagram the Reassembler could rebuild.
func fragKey(p *wire.Packet) (reasmKey, bool) {
	k := reasmKey{src: p.Src, dst: p.Dst, id: p.FragID, version: uint8(p.Version)}
	switch p.Version {
	case 4:
		k.proto = p.Protocol
		return k, p.Src.Is4() && p.Dst.Is4() && p.FragID <= 0xffff
	case 6:
		return k, p.Src.Is6() && p.Dst.Is6()
	}
	return k, false
}

// quoteOf copies the start of a first fragment for an ICMP Time Exceeded
// message: its headers (IPv6 extension headers included) and up to
// reasmQuoteData bytes of its data.
func quoteOf(pkt []byte, p *wire.Packet) []byte {
	// The data ends where the header's length field says, and p.Payload
	// is that tail of pkt if p comes from ParsePacket(pkt); the aliasing
	// check guards against a p that does not.
	end := -1
	switch {
	case p.Version == 4 && len(pkt) >= wire.IPv4MinHeaderLen:
		end = int(wire.IPv4(pkt).TotalLen())
	case p.Version == 6 && len(pkt) >= wire.IPv6HeaderLen:
		end = wire.IPv6HeaderLen + int(wire.IPv6(pkt).PayloadLen())
	}
	hl := end - len(p.Payload)
	if len(p.Payload) == 0 || hl < 0 || end > len(pkt) || &pkt[hl] != &p.Payload[0] {
		// Fall back on the fixed header.
		hl = wire.IPv6HeaderLen
		if p.Version == 4 && len(pkt) > 0 {
			hl = int(pkt[0]&0x0f) * 4
		}
	}
	return append([]byte(nil), pkt[:min(len(pkt), hl+reasmQuoteData)]...)
}

// discard frees d, if any, and reports it.
func (r *Reassembler) discard(d *reasmDgram) ([]byte, Result) {
	if d != nil {
		r.free(d)
		r.compact()
	}
	return nil, Discarded
}

// free forgets d and everything held for it. Its FIFO entry stays, marked
// dead, unless it is at the head.
func (r *Reassembler) free(d *reasmDgram) {
	delete(r.dgrams, d.key)
	r.bytes -= d.cost
	d.dead, d.frags, d.quote = true, nil, nil
	r.dead++
	for r.head < len(r.fifo) && r.fifo[r.head].dead {
		r.fifo[r.head] = nil
		r.head++
		r.dead--
	}
	if r.head == len(r.fifo) {
		r.fifo, r.head = r.fifo[:0], 0
	}
}

// compact drops the FIFO's dead entries once they outnumber the live ones,
// which keeps the FIFO within twice the datagrams in progress, amortized
// O(1) per datagram.
func (r *Reassembler) compact() {
	garbage := r.head + r.dead
	if garbage < 32 || garbage <= len(r.fifo)-garbage {
		return
	}
	live := r.fifo[:0]
	for _, d := range r.fifo[r.head:] {
		if !d.dead {
			live = append(live, d)
		}
	}
	clear(r.fifo[len(live):])
	r.fifo, r.head, r.dead = live, 0, 0
}

// Expire discards the datagrams whose time is up at now (deadline <= now)
// and returns how many. For each one whose offset-0 fragment had arrived it
// calls quote, if not nil, with the start of that fragment as it arrived
// (its headers and up to 64 bytes of data), valid during the call, so that
// the caller can send ICMP Time Exceeded, code 1 (RFC 792; RFC 4443 §3.3,
// RFC 8200 §4.5: only if the first fragment came).
func (r *Reassembler) Expire(now time.Time, quote func(first []byte)) int {
	t, n := now.UnixNano(), 0
	// Deadlines are in FIFO order, since all take the same timeout from
	// the first arrival; the head is always live.
	for r.head < len(r.fifo) && r.fifo[r.head].deadline <= t {
		d := r.fifo[r.head]
		q := d.quote
		r.free(d)
		n++
		if quote != nil && q != nil {
			quote(q)
		}
	}
	r.compact()
	return n
}

// Next returns the earliest deadline in Unix nanoseconds, and false when
// nothing is pending.
func (r *Reassembler) Next() (int64, bool) {
	if r.head < len(r.fifo) {
		return r.fifo[r.head].deadline, true
	}
	return 0, false
}

// Held returns the bytes accounted and the number of datagrams in progress.
func (r *Reassembler) Held() (bytes, datagrams int) {
	return r.bytes, len(r.dgrams)
}

// Evicted returns how many datagrams have been evicted to make room for
// newer ones since Init, for the caller's ReasmFails counter.
func (r *Reassembler) Evicted() int { return r.evicted }
