package infer

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/wire"
)

// Stats count what the reader met and how much of it was TCP.
type Stats struct {
	Packets     int // records in the file
	TCP         int // TCP segments decoded
	NotIP       int // ARP, LLDP and other link-layer traffic
	NotTCP      int // UDP, ICMP, ...
	Fragments   int // IP fragments (not reassembled)
	Malformed   int // IP or TCP headers that do not parse
	Cut         int // segments the snaplen cut inside their payload (lengths kept from the IP header)
	CutHeader   int // packets cut inside their headers, skipped
	UnknownLink int // packets of a link type the reader does not decode
	LinkTypes   map[uint32]int
	// Truncated is set when the file ended inside a record: the
	// packets before it were read.
	Truncated error
}

// Skipped is the number of packets that are not in any connection.
func (s *Stats) Skipped() int { return s.Packets - s.TCP }

// Seg is one captured TCP segment.
type Seg struct {
	Frame    int           // 1-based record number in the file
	T        time.Duration // capture time since the capture's first packet
	Src, Dst netip.AddrPort
	Flags    wire.Flags
	Seq, Ack uint32
	Len      int // payload bytes (from the IP header when the snaplen cut them)
	Win      uint16
	Opts     wire.Options
	Cut      bool

	conn *Conn
	from int // 0 the connection's client, 1 its server
	// foreign: its sender could not have sent it in this incarnation
	// (forged, or from a middlebox): it is replayed as arriving at the
	// other end, not as sent (see markForeign).
	foreign bool
	// copyOf: an earlier segment of the connection from the same end
	// had the same sequence and acknowledgment numbers, flags and length.
	copyOf bool
	marks  []Mark
	rtt    time.Duration // this ACK's RTT sample, when it acknowledges a segment sent once
	rttOf  int           // the frame it samples
}

// SeqLen is the segment's length in sequence space.
func (s *Seg) SeqLen() uint32 {
	n := uint32(s.Len)
	if s.Flags&wire.FlagSYN != 0 {
		n++
	}
	if s.Flags&wire.FlagFIN != 0 {
		n++
	}
	return n
}

func (s *Seg) has(f wire.Flags) bool { return s.Flags&f != 0 }

// Marks returns what the analysis found about the segment.
func (s *Seg) Marks() []Mark { return s.marks }

// Capture is a whole file, its connections inferred.
type Capture struct {
	Start time.Time // the first packet's timestamp
	End   time.Duration
	Segs  []*Seg
	Conns []*Conn
	Stats Stats
}

// maxSegments bounds the segments kept in memory; a larger capture is
// read up to it and reported cut.
const maxSegments = 2_000_000

// ErrTooLarge means the capture had more TCP segments than are kept.
var ErrTooLarge = errors.New("infer: capture has more TCP segments than kept")

// Read reads a capture and infers its connections. A file that ends
// inside a record is read up to there (Stats.Truncated says so); only a
// file that is not a capture, or is corrupt, is an error.
func Read(r io.Reader) (*Capture, error) {
	pr, err := pcap.NewReader(r)
	if err != nil {
		return nil, err
	}
	c := &Capture{Stats: Stats{LinkTypes: map[uint32]int{}}}
	var buf []byte
	for {
		p, err := pr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, pcap.ErrTruncated) {
			c.Stats.Truncated = err
			break
		}
		if err != nil {
			return c, fmt.Errorf("after %d packets: %w", c.Stats.Packets, err)
		}
		c.Stats.Packets++
		if c.Stats.Packets == 1 {
			c.Start = p.Time
		}
		c.Stats.LinkTypes[p.LinkType]++
		if len(c.Segs) >= maxSegments {
			return c, ErrTooLarge
		}
		buf = c.add(buf, &p)
	}
	c.infer()
	return c, nil
}

// add decodes one packet into a segment, counting what it is not.
func (c *Capture) add(buf []byte, p *pcap.Packet) []byte {
	ip, err := pcap.IPPayload(p.LinkType, p.Data)
	switch {
	case errors.Is(err, pcap.ErrUnknownLinkType):
		c.Stats.UnknownLink++
		return buf
	case errors.Is(err, pcap.ErrNotIP):
		c.Stats.NotIP++
		return buf
	case err != nil:
		c.Stats.Malformed++
		return buf
	}
	cut := p.Cut()
	if cut {
		// The snaplen kept the headers but not all the payload: the
		// lengths in the IP header still say what was sent. The missing
		// bytes are filled with zeros so that the parser, which checks
		// lengths, accepts the headers; only the payload's length is used.
		buf = append(buf[:0], ip...)
		buf = append(buf, make([]byte, p.OrigLen-len(p.Data))...)
		ip = buf
	}
	// Checksums are not verified: captures taken where the NIC computes
	// them (checksum offload) carry garbage there.
	pk, err := wire.ParsePacketTrusted(ip)
	switch {
	case errors.Is(err, wire.ErrNotTCP):
		c.Stats.NotTCP++
		return buf
	case errors.Is(err, wire.ErrFragment):
		c.Stats.Fragments++
		return buf
	case err != nil:
		if cut {
			c.Stats.CutHeader++
		} else {
			c.Stats.Malformed++
		}
		return buf
	}
	if cut && tcpHeaderCut(p, len(ip)-len(pk.Segment.Payload)) {
		c.Stats.CutHeader++
		return buf
	}
	s := &pk.Segment
	seg := &Seg{
		Frame: c.Stats.Packets, T: p.Time.Sub(c.Start),
		Src: netip.AddrPortFrom(pk.Src, s.SrcPort), Dst: netip.AddrPortFrom(pk.Dst, s.DstPort),
		Flags: s.Flags, Seq: uint32(s.Seq), Ack: uint32(s.Ack), Len: len(s.Payload), Win: s.Wnd, Opts: s.Opts,
		Cut: cut,
	}
	if cut {
		c.Stats.Cut++
	}
	c.Stats.TCP++
	c.Segs = append(c.Segs, seg)
	c.End = max(c.End, seg.T)
	return buf
}

// tcpHeaderCut reports whether the capture lost part of the headers:
// every byte before the payload must have been captured.
func tcpHeaderCut(p *pcap.Packet, headers int) bool {
	ip, _ := pcap.IPPayload(p.LinkType, p.Data)
	return len(ip) < headers
}

// Foreign reports whether the segment's named sender could not have sent
// it (forged, or from a middlebox): it is drawn arriving, and tells
// nothing of its sender's state.
func (s *Seg) Foreign() bool { return s.foreign }
