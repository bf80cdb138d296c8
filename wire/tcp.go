package wire

import (
	"encoding/binary"

	"github.com/synack/synack/seq"
)

// ProtoTCP is TCP's IP protocol number.
const ProtoTCP = 6

// TCPMinHeaderLen is the length of a TCP header without options.
const TCPMinHeaderLen = 20

// TCP is a view of a TCP segment (header and payload, RFC 9293 §3.1). The
// fixed-header accessors need at least 20 bytes; Options and Payload need a
// data offset within the segment. Validate checks both. Accessors on a view
// that fails Validate may panic.
type TCP []byte

// Validate checks that t is long enough for its fixed header and that its
// data offset lies within it. It does not look at the options or checksum.
func (t TCP) Validate() error {
	if len(t) < TCPMinHeaderLen {
		return ErrTruncated
	}
	if h := t.HeaderLen(); h < TCPMinHeaderLen || h > len(t) {
		return ErrBadDataOffset
	}
	return nil
}

// SrcPort returns the source port.
func (t TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(t[0:]) }

// DstPort returns the destination port.
func (t TCP) DstPort() uint16 { return binary.BigEndian.Uint16(t[2:]) }

// Seq returns the sequence number.
func (t TCP) Seq() seq.Num { return seq.Num(binary.BigEndian.Uint32(t[4:])) }

// Ack returns the acknowledgment number.
func (t TCP) Ack() seq.Num { return seq.Num(binary.BigEndian.Uint32(t[8:])) }

// DataOffset returns the header length in 32-bit words, as carried.
func (t TCP) DataOffset() int { return int(t[12] >> 4) }

// HeaderLen returns the header length in bytes.
func (t TCP) HeaderLen() int { return t.DataOffset() * 4 }

// Flags returns the control bits.
func (t TCP) Flags() Flags { return Flags(t[13]) }

// Window returns the raw, unscaled window field.
func (t TCP) Window() uint16 { return binary.BigEndian.Uint16(t[14:]) }

// Checksum returns the checksum field.
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[16:]) }

// Urgent returns the urgent pointer.
func (t TCP) Urgent() uint16 { return binary.BigEndian.Uint16(t[18:]) }

// Options returns the raw options area, padding included.
func (t TCP) Options() []byte { return sub(t, TCPMinHeaderLen, t.HeaderLen()) }

// Payload returns the data after the header.
func (t TCP) Payload() []byte { return sub(t, t.HeaderLen(), len(t)) }

// ParseTCP parses the TCP segment b (header and payload) into a Segment
// whose Payload aliases b. It does not verify the checksum, which needs the
// pseudo-header: see VerifyTCPChecksum. It allocates nothing.
func ParseTCP(b []byte) (Segment, error) {
	var s Segment
	if err := parseTCP(b, &s); err != nil {
		return Segment{}, err
	}
	return s, nil
}

// parseTCP is ParseTCP writing in place, which spares ParsePacket copying a
// Segment around. On error *s is left partly filled.
func parseTCP(b []byte, s *Segment) error {
	t := TCP(b)
	if err := t.Validate(); err != nil {
		return err
	}
	s.SrcPort = t.SrcPort()
	s.DstPort = t.DstPort()
	s.Seq = t.Seq()
	s.Ack = t.Ack()
	s.Flags = t.Flags()
	s.Wnd = t.Window()
	s.Urgent = t.Urgent()
	s.Payload = t.Payload()
	return ParseOptions(t.Options(), &s.Opts)
}

// AppendTCP appends s as a TCP segment (header, options, payload) with its
// checksum computed over the pseudo-header ph, and returns the extended
// slice. It allocates only when dst lacks capacity.
func AppendTCP(dst []byte, s *Segment, ph Pseudo) []byte { return appendTCP(dst, s, ph, false) }

// appendTCP is AppendTCP; partial leaves in the checksum field the
// pseudo-header's sum alone, for the link to complete.
func appendTCP(dst []byte, s *Segment, ph Pseudo, partial bool) []byte {
	l := layout(&s.Opts)
	hl := TCPMinHeaderLen + l.size
	n := len(dst)
	dst = grow(dst, hl+len(s.Payload))
	b := dst[n:]
	binary.BigEndian.PutUint16(b[0:], s.SrcPort)
	binary.BigEndian.PutUint16(b[2:], s.DstPort)
	binary.BigEndian.PutUint32(b[4:], uint32(s.Seq))
	binary.BigEndian.PutUint32(b[8:], uint32(s.Ack))
	b[12] = byte(hl/4) << 4 // reserved bits zero (RFC 9293 §3.1)
	b[13] = byte(s.Flags)
	binary.BigEndian.PutUint16(b[14:], s.Wnd)
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[18:], s.Urgent)
	writeOptions(b[TCPMinHeaderLen:hl], &s.Opts, l)
	copy(b[hl:], s.Payload)
	// RFC 9293 §3.1: the checksum is the complement of the sum over the
	// pseudo-header, header and data, computed with the field zeroed.
	ps := ph.Sum(ProtoTCP, uint32(len(b)))
	if partial {
		// The link sums from the TCP header on, starting with this field,
		// and stores the complement (virtio csum_start/csum_offset).
		binary.BigEndian.PutUint16(b[16:], uint16(ps))
		return dst
	}
	binary.BigEndian.PutUint16(b[16:], ^Checksum(b, ps))
	return dst
}

// sub returns b[i:j] with its capacity capped at j, so that appending to a
// view never overwrites the bytes after it, or nil when the range is empty.
func sub(b []byte, i, j int) []byte {
	if i >= j {
		return nil
	}
	return b[i:j:j]
}
