package wire

import (
	"encoding/binary"
	"slices"

	"github.com/synack/synack/seq"
)

// TCP option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
const (
	optEOL       = 0
	optNOP       = 1
	optMSS       = 2
	optWScale    = 3
	optSACKPerm  = 4
	optSACK      = 5
	optTimestamp = 8
)

// Lengths of the options, kind and length bytes included.
const (
	lenMSS       = 4
	lenWScale    = 3
	lenSACKPerm  = 2
	lenTimestamp = 10
	lenSACKBlock = 8
)

// MaxWScale is the largest window shift (RFC 7323 §2.3).
const MaxWScale = 14

// MaxOptionsLen is the room for options in a TCP header: the 4-bit data
// offset allows 60 bytes, 20 of which are the fixed header.
const MaxOptionsLen = 40

// ParseOptions decodes the options area of a TCP header (the bytes between
// the fixed header and the data offset) into o, which it resets first.
// When an option appears twice the last one wins.
func ParseOptions(b []byte, o *Options) error {
	*o = Options{}
	for i := 0; i < len(b); {
		kind := b[i]
		switch kind {
		case optEOL:
			// RFC 9293 §3.2: end of the option list; the rest is padding.
			return nil
		case optNOP:
			i++
			continue
		}
		if i+1 >= len(b) {
			return ErrOptionTruncated
		}
		l := int(b[i+1])
		if l < 2 {
			// The length counts kind and length bytes: 0 or 1 cannot be
			// right, and skipping by it would loop or misalign.
			return ErrBadOptionLength
		}
		if i+l > len(b) {
			return ErrOptionTruncated
		}
		v := b[i+2 : i+l]
		switch kind {
		case optMSS:
			if l != lenMSS {
				return ErrBadOptionLength
			}
			o.HasMSS = true
			o.MSS = binary.BigEndian.Uint16(v)
		case optWScale:
			if l != lenWScale {
				return ErrBadOptionLength
			}
			o.HasWScale = true
			// RFC 7323 §2.3: a shift count above 14 is treated as 14.
			o.WScale = min(v[0], MaxWScale)
		case optSACKPerm:
			if l != lenSACKPerm {
				return ErrBadOptionLength
			}
			o.SACKPermitted = true
		case optSACK:
			// RFC 2018 §3: 2 + 8n bytes; 40 bytes of option space cap n at 4.
			n := (l - 2) / lenSACKBlock
			if (l-2)%lenSACKBlock != 0 || n < 1 || n > MaxSACKBlocks {
				return ErrBadOptionLength
			}
			o.SACK = [MaxSACKBlocks]SACKBlock{}
			for j := range n {
				o.SACK[j] = SACKBlock{
					Left:  seq.Num(binary.BigEndian.Uint32(v[8*j:])),
					Right: seq.Num(binary.BigEndian.Uint32(v[8*j+4:])),
				}
			}
			o.NumSACK = uint8(n)
		case optTimestamp:
			if l != lenTimestamp {
				return ErrBadOptionLength
			}
			o.HasTimestamp = true
			o.TSVal = binary.BigEndian.Uint32(v)
			o.TSEcr = binary.BigEndian.Uint32(v[4:])
		}
		// Unknown kinds are skipped by their length (RFC 9293 §3.2).
		i += l
	}
	return nil
}

// optLayout says how AppendOptions lays out a set of options.
type optLayout struct {
	nsack   int  // SACK blocks that fit
	compact bool // no alignment NOPs: used only when Linux's layout overflows
	size    int  // bytes, a multiple of 4, at most MaxOptionsLen
}

// layout picks the option layout. It prefers Linux's 4-byte aligned layout;
// if that does not fit in 40 bytes it packs the options without NOPs, and
// only if that still does not fit does it drop SACK blocks from the end
// (RFC 2018 §4: the first block must report the most recent data, so the
// later ones are the ones to lose). Options produced by ParseOptions always
// fit packed, since the header they came from held each option at its raw
// size, so parse → append → parse keeps every option.
func layout(o *Options) optLayout {
	var aligned, packed int
	if o.HasMSS {
		aligned += lenMSS
		packed += lenMSS
	}
	switch {
	case o.HasTimestamp:
		aligned += 2 + lenTimestamp // sackOK or nop,nop ahead of TS
		packed += lenTimestamp
		if o.SACKPermitted {
			packed += lenSACKPerm
		}
	case o.SACKPermitted:
		aligned += 2 + lenSACKPerm // nop,nop,sackOK
		packed += lenSACKPerm
	}
	if o.HasWScale {
		aligned += 1 + lenWScale // nop,wscale
		packed += lenWScale
	}
	for n := min(int(o.NumSACK), MaxSACKBlocks); ; n-- {
		a, p := aligned, packed
		if n > 0 {
			a += 4 + lenSACKBlock*n // nop,nop,sack
			p += 2 + lenSACKBlock*n
		}
		if a <= MaxOptionsLen {
			return optLayout{nsack: n, size: a}
		}
		if p = (p + 3) &^ 3; p <= MaxOptionsLen {
			return optLayout{nsack: n, compact: true, size: p}
		}
		// n == 0 always fits: 4 + 12 + 4 = 20 bytes at most.
	}
}

// OptionsLen returns the number of bytes AppendOptions writes for o: a
// multiple of 4, at most MaxOptionsLen. A nil o has no options.
func OptionsLen(o *Options) int {
	if o == nil {
		return 0
	}
	return layout(o).size
}

// TCPHeaderLen returns the length of a TCP header carrying the options o.
func TCPHeaderLen(o *Options) int { return TCPMinHeaderLen + OptionsLen(o) }

// AppendOptions appends o encoded as TCP options, padded to a multiple of 4
// bytes, in the order Linux uses: mss; sackOK,TS or nop,nop,TS (or
// nop,nop,sackOK without timestamps); nop,wscale; nop,nop,sack. If that
// exceeds the 40 bytes of option space, the same options are written without
// NOPs and padded with EOL; if even that does not fit, SACK blocks are
// dropped from the end.
func AppendOptions(dst []byte, o *Options) []byte {
	l := layout(o)
	n := len(dst)
	dst = grow(dst, l.size)
	writeOptions(dst[n:], o, l)
	return dst
}

// writeOptions writes o into b, which is exactly l.size bytes long.
func writeOptions(b []byte, o *Options, l optLayout) {
	i := 0
	put := func(c ...byte) { i += copy(b[i:], c) }
	if o.HasMSS {
		put(optMSS, lenMSS)
		binary.BigEndian.PutUint16(b[i:], o.MSS)
		i += 2
	}
	switch {
	case o.HasTimestamp:
		switch {
		case o.SACKPermitted:
			put(optSACKPerm, lenSACKPerm)
		case !l.compact:
			put(optNOP, optNOP)
		}
		put(optTimestamp, lenTimestamp)
		binary.BigEndian.PutUint32(b[i:], o.TSVal)
		binary.BigEndian.PutUint32(b[i+4:], o.TSEcr)
		i += 8
	case o.SACKPermitted:
		if !l.compact {
			put(optNOP, optNOP)
		}
		put(optSACKPerm, lenSACKPerm)
	}
	if o.HasWScale {
		if !l.compact {
			put(optNOP)
		}
		put(optWScale, lenWScale, o.WScale)
	}
	if l.nsack > 0 {
		if !l.compact {
			put(optNOP, optNOP)
		}
		put(optSACK, byte(2+lenSACKBlock*l.nsack))
		for _, blk := range o.SACK[:l.nsack] {
			binary.BigEndian.PutUint32(b[i:], uint32(blk.Left))
			binary.BigEndian.PutUint32(b[i+4:], uint32(blk.Right))
			i += 8
		}
	}
	// RFC 9293 §3.1: the header is padded with zeros, which read as EOL.
	clear(b[i:])
}

// grow extends b by n bytes, reallocating only when its capacity is short.
// The new bytes are not cleared.
func grow(b []byte, n int) []byte {
	return slices.Grow(b, n)[:len(b)+n]
}
