package wire

import (
	"strconv"
	"strings"

	"github.com/synack/synack/seq"
)

// Flags are the TCP control bits (RFC 9293 §3.1).
type Flags uint8

// The control bits, in header order.
const (
	FlagFIN Flags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// String renders the flags as in the ladder diagrams and JSON traces:
// "SYN,ACK", "FIN,ACK", "RST".
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	names := [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	order := [...]int{1, 2, 0, 3, 4, 5, 6, 7} // SYN before FIN reads naturally
	var b strings.Builder
	for _, i := range order {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(names[i])
		}
	}
	return b.String()
}

// Short renders the flags as tcpdump and packetdrill do: "S.", "F.", "R", ".".
func (f Flags) Short() string {
	var b [8]byte
	n := 0
	for _, c := range [...]struct {
		f Flags
		c byte
	}{{FlagSYN, 'S'}, {FlagFIN, 'F'}, {FlagRST, 'R'}, {FlagPSH, 'P'}, {FlagURG, 'U'}, {FlagECE, 'E'}, {FlagCWR, 'W'}, {FlagACK, '.'}} {
		if f&c.f != 0 {
			b[n] = c.c
			n++
		}
	}
	return string(b[:n])
}

// SACKBlock is one SACK block [Left, Right) (RFC 2018).
type SACKBlock struct{ Left, Right seq.Num }

// MaxSACKBlocks is the most SACK blocks a header can carry (4 without
// timestamps, 3 with).
const MaxSACKBlocks = 4

// Options are the TCP options synack understands. The zero value means no
// options. Unknown options are skipped by length when parsing.
type Options struct {
	MSS           uint16 // RFC 9293 §3.7.1; valid when HasMSS
	WScale        uint8  // RFC 7323 §2; valid when HasWScale
	HasMSS        bool
	HasWScale     bool
	SACKPermitted bool // RFC 2018 §2
	HasTimestamp  bool // RFC 7323 §3
	TSVal, TSEcr  uint32
	NumSACK       uint8 // number of valid entries in SACK
	SACK          [MaxSACKBlocks]SACKBlock
}

// Segment is a parsed TCP segment: a value the state machine reasons about.
// Payload aliases the packet it was parsed from, or the sender's buffer.
type Segment struct {
	SrcPort, DstPort uint16
	Seq, Ack         seq.Num
	Flags            Flags
	Wnd              uint16 // raw window field; scaling is the connection's business
	Urgent           uint16
	Opts             Options
	Payload          []byte
	// GSOSize, when not zero, makes the segment a TSO super-segment that
	// only a sender builds: the link (or the kernel behind a TUN) cuts
	// its payload into pieces of GSOSize bytes, each with this header,
	// sequence numbers advanced, FIN and PSH on the last piece only.
	// Parsing never sets it.
	GSOSize uint16
}

// Len is the segment's length in sequence space: payload plus one for each
// of SYN and FIN (RFC 9293 §3.4, SEG.LEN).
func (s *Segment) Len() seq.Size {
	n := seq.Size(len(s.Payload))
	if s.Flags&FlagSYN != 0 {
		n++
	}
	if s.Flags&FlagFIN != 0 {
		n++
	}
	return n
}

// String renders the segment as packetdrill does:
// "S. 1000:1000(0) ack 5001 win 65535 <mss 1460,wscale 7>".
// The same form is accepted by the test scripts' parser.
func (s Segment) String() string {
	var b strings.Builder
	fl := s.Flags.Short()
	if fl == "" {
		fl = "-"
	}
	b.WriteString(fl)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(uint64(s.Seq), 10))
	b.WriteByte(':')
	b.WriteString(strconv.FormatUint(uint64(s.Seq.Add(seq.Size(len(s.Payload)))), 10))
	b.WriteByte('(')
	b.WriteString(strconv.Itoa(len(s.Payload)))
	b.WriteByte(')')
	if s.Flags&FlagACK != 0 {
		b.WriteString(" ack ")
		b.WriteString(strconv.FormatUint(uint64(s.Ack), 10))
	}
	b.WriteString(" win ")
	b.WriteString(strconv.FormatUint(uint64(s.Wnd), 10))
	if o := s.Opts.String(); o != "" {
		b.WriteString(" <")
		b.WriteString(o)
		b.WriteByte('>')
	}
	return b.String()
}

// String renders the options comma-separated, as packetdrill does, or "" for
// none.
func (o Options) String() string {
	var parts []string
	if o.HasMSS {
		parts = append(parts, "mss "+strconv.Itoa(int(o.MSS)))
	}
	if o.SACKPermitted {
		parts = append(parts, "sackOK")
	}
	if o.HasTimestamp {
		parts = append(parts, "TS val "+strconv.FormatUint(uint64(o.TSVal), 10)+" ecr "+strconv.FormatUint(uint64(o.TSEcr), 10))
	}
	if o.HasWScale {
		parts = append(parts, "wscale "+strconv.Itoa(int(o.WScale)))
	}
	for i := 0; i < int(o.NumSACK) && i < MaxSACKBlocks; i++ {
		parts = append(parts, "sack "+strconv.FormatUint(uint64(o.SACK[i].Left), 10)+":"+strconv.FormatUint(uint64(o.SACK[i].Right), 10))
	}
	return strings.Join(parts, ",")
}
