package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"time"
)

// Packet is one record of a capture file.
type Packet struct {
	Time      time.Time
	LinkType  uint32 // LINKTYPE_* of the packet's interface
	Interface int    // pcapng interface number (0 in a pcap file)
	Data      []byte // the bytes captured; valid until the next call to Next
	OrigLen   int    // the packet's length on the wire; more than len(Data) when the snaplen cut it
}

// Cut reports whether the capture's snaplen cut the packet short.
func (p *Packet) Cut() bool { return p.OrigLen > len(p.Data) }

// Errors of the reader. A truncated file ends the read with ErrTruncated
// after its last whole record; a corrupt one with ErrCorrupt, since a
// record length that cannot be trusted leaves nothing to resume from.
var (
	ErrNotCapture = errors.New("pcap: not a pcap or pcapng file")
	ErrTruncated  = errors.New("pcap: file ends inside a record")
	ErrCorrupt    = errors.New("pcap: corrupt record")
)

// pcapng block types (draft-ietf-opsawg-pcapng §4).
const (
	ngSHB         = 0x0A0D0D0A
	ngIDB         = 0x00000001
	ngOldPacket   = 0x00000002 // obsolete Packet Block (appendix)
	ngSPB         = 0x00000003
	ngEPB         = 0x00000006
	ngByteOrder   = 0x1A2B3C4D
	ngMaxBlock    = 16 << 20 // no block a reader must trust is larger
	maxRecord     = 1 << 20  // the largest record accepted from a pcap file
	maxInterfaces = 1 << 16
)

type ngInterface struct {
	linkType uint32
	snaplen  uint32
	// Timestamps are units of 1/unitsPerSec seconds since the epoch,
	// plus offset seconds (if_tsresol, if_tsoffset).
	unitsPerSec uint64
	offset      int64
}

// Reader reads the packets of a pcap or pcapng file, told apart by their
// first bytes; both byte orders and, for pcap, both microsecond and
// nanosecond timestamps.
type Reader struct {
	r     *bufio.Reader
	ng    bool
	order binary.ByteOrder

	// pcap
	nano     bool
	linkType uint32

	// pcapng: the interfaces of the current section.
	ifaces []ngInterface

	buf    []byte
	last   time.Time // the last timestamp read
	n      int       // records returned
	offset int64     // bytes consumed, for error messages
}

// NewReader reads the file header (a pcap header or a pcapng Section
// Header Block) and returns a Reader positioned at the first packet.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w (%d bytes)", ErrNotCapture, len(magic))
		}
		return nil, err
	}
	rd := &Reader{r: br}
	switch {
	case binary.LittleEndian.Uint32(magic) == ngSHB:
		rd.ng = true
		if err := rd.readSHB(); err != nil {
			return nil, err
		}
		return rd, nil
	case binary.LittleEndian.Uint32(magic) == MagicMicro:
		rd.order = binary.LittleEndian
	case binary.BigEndian.Uint32(magic) == MagicMicro:
		rd.order = binary.BigEndian
	case binary.LittleEndian.Uint32(magic) == MagicNano:
		rd.order, rd.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(magic) == MagicNano:
		rd.order, rd.nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("%w: magic %#08x", ErrNotCapture, binary.BigEndian.Uint32(magic))
	}
	var h [fileHeaderLen]byte
	if err := rd.full(h[:]); err != nil {
		return nil, fmt.Errorf("pcap: file header: %w", err)
	}
	// The link type is the low 16 bits; the upper ones hold an FCS length
	// that some writers set (pcap-savefile(5), LINKTYPE_ field).
	rd.linkType = rd.order.Uint32(h[20:]) & 0xffff
	return rd, nil
}

// LinkType returns a pcap file's link type, or that of a pcapng file's
// first interface (0 before one is seen).
func (r *Reader) LinkType() uint32 {
	if r.ng {
		if len(r.ifaces) > 0 {
			return r.ifaces[0].linkType
		}
		return 0
	}
	return r.linkType
}

// full reads exactly len(b) bytes; a short read is ErrTruncated.
func (r *Reader) full(b []byte) error {
	n, err := io.ReadFull(r.r, b)
	r.offset += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) || (errors.Is(err, io.EOF) && len(b) > 0) {
		return ErrTruncated
	}
	return err
}

// Next returns the next packet, or io.EOF after the last one. The
// returned Data is reused by the next call.
func (r *Reader) Next() (Packet, error) {
	if r.ng {
		return r.nextNG()
	}
	var h [recordHeaderLen]byte
	n, err := io.ReadFull(r.r, h[:])
	r.offset += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		return Packet{}, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Packet{}, fmt.Errorf("%w: record %d header (%d of 16 bytes)", ErrTruncated, r.n+1, n)
	case err != nil:
		return Packet{}, err
	}
	sec, frac := r.order.Uint32(h[0:]), r.order.Uint32(h[4:])
	incl, orig := r.order.Uint32(h[8:]), r.order.Uint32(h[12:])
	if incl > maxRecord {
		return Packet{}, fmt.Errorf("%w: record %d at byte %d claims %d bytes", ErrCorrupt, r.n+1, r.offset-recordHeaderLen, incl)
	}
	if (r.nano && frac >= 1e9) || (!r.nano && frac >= 1e6) {
		return Packet{}, fmt.Errorf("%w: record %d at byte %d has a fraction of a second of %d", ErrCorrupt, r.n+1, r.offset-recordHeaderLen, frac)
	}
	data := r.grow(int(incl))
	if err := r.full(data); err != nil {
		return Packet{}, fmt.Errorf("%w: record %d", err, r.n+1)
	}
	r.n++
	ns := int64(frac)
	if !r.nano {
		ns *= 1000
	}
	if orig < incl {
		orig = incl // a writer's slip; the bytes are what they are
	}
	return Packet{Time: time.Unix(int64(sec), ns).UTC(), LinkType: r.linkType, Data: data, OrigLen: int(orig)}, nil
}

func (r *Reader) grow(n int) []byte {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	return r.buf[:n]
}

// readBlock reads one pcapng block, returning its type and body (without
// the type, the lengths and the padding's trailer).
func (r *Reader) readBlock() (uint32, []byte, error) {
	var h [8]byte
	n, err := io.ReadFull(r.r, h[:])
	r.offset += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		return 0, nil, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return 0, nil, fmt.Errorf("%w: block header (%d of 8 bytes)", ErrTruncated, n)
	case err != nil:
		return 0, nil, err
	}
	start := r.offset - 8
	typ := r.order.Uint32(h[0:])
	if typ == ngSHB {
		// A new section may change the byte order: the length is read
		// after the byte-order magic.
		var bom [4]byte
		if err := r.full(bom[:]); err != nil {
			return 0, nil, fmt.Errorf("%w: section header", err)
		}
		switch {
		case binary.LittleEndian.Uint32(bom[:]) == ngByteOrder:
			r.order = binary.LittleEndian
		case binary.BigEndian.Uint32(bom[:]) == ngByteOrder:
			r.order = binary.BigEndian
		default:
			return 0, nil, fmt.Errorf("%w: section header at byte %d has no byte-order magic", ErrCorrupt, start)
		}
		length := r.order.Uint32(h[4:])
		if length < 28 || length%4 != 0 || length > ngMaxBlock {
			return 0, nil, fmt.Errorf("%w: section header at byte %d of length %d", ErrCorrupt, start, length)
		}
		body := r.grow(int(length) - 12)
		if err := r.full(body); err != nil {
			return 0, nil, fmt.Errorf("%w: section header", err)
		}
		return typ, body[:len(body)-4], nil
	}
	length := r.order.Uint32(h[4:])
	if length < 12 || length%4 != 0 || length > ngMaxBlock {
		return 0, nil, fmt.Errorf("%w: block at byte %d of length %d", ErrCorrupt, start, length)
	}
	body := r.grow(int(length) - 8)
	if err := r.full(body); err != nil {
		return 0, nil, fmt.Errorf("%w: block at byte %d", err, start)
	}
	if trail := r.order.Uint32(body[len(body)-4:]); trail != length {
		return 0, nil, fmt.Errorf("%w: block at byte %d: lengths %d and %d differ", ErrCorrupt, start, length, trail)
	}
	return typ, body[:len(body)-4], nil
}

func (r *Reader) readSHB() error {
	r.order = binary.LittleEndian // until the byte-order magic says
	typ, body, err := r.readBlock()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = ErrTruncated
		}
		return fmt.Errorf("pcapng: %w", err)
	}
	if typ != ngSHB {
		return ErrNotCapture
	}
	// body: major, minor version, section length, options.
	if len(body) < 12 {
		return fmt.Errorf("%w: section header too short", ErrCorrupt)
	}
	if major := r.order.Uint16(body[0:]); major != 1 {
		return fmt.Errorf("pcapng: section version %d not supported", major)
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

func (r *Reader) nextNG() (Packet, error) {
	for {
		typ, body, err := r.readBlock()
		if err != nil {
			return Packet{}, err
		}
		switch typ {
		case ngSHB:
			if len(body) < 12 {
				return Packet{}, fmt.Errorf("%w: section header too short", ErrCorrupt)
			}
			if major := r.order.Uint16(body[0:]); major != 1 {
				return Packet{}, fmt.Errorf("pcapng: section version %d not supported", major)
			}
			r.ifaces = r.ifaces[:0]
		case ngIDB:
			if err := r.addInterface(body); err != nil {
				return Packet{}, err
			}
		case ngEPB, ngOldPacket:
			// The Enhanced Packet Block (§4.3) and the obsolete Packet
			// Block (Appendix A) share their layout, except that the old
			// one's interface ID is 16 bits, followed by a drops count.
			name := "enhanced packet block"
			if typ == ngOldPacket {
				name = "packet block"
			}
			if len(body) < 20 {
				return Packet{}, fmt.Errorf("%w: %s too short", ErrCorrupt, name)
			}
			id := r.order.Uint32(body[0:])
			if typ == ngOldPacket {
				id = uint32(r.order.Uint16(body[0:]))
			}
			ts := uint64(r.order.Uint32(body[4:]))<<32 | uint64(r.order.Uint32(body[8:]))
			capLen, orig := r.order.Uint32(body[12:]), r.order.Uint32(body[16:])
			if uint64(capLen) > uint64(len(body)-20) {
				return Packet{}, fmt.Errorf("%w: packet %d claims %d bytes in a block of %d", ErrCorrupt, r.n+1, capLen, len(body))
			}
			return r.packet(id, ts, body[20:20+capLen], orig)
		case ngSPB:
			// A Simple Packet Block belongs to interface 0 and has no
			// timestamp (§4.4): it takes the previous packet's, so that
			// intervals stay sane.
			if len(body) < 4 {
				return Packet{}, fmt.Errorf("%w: simple packet block too short", ErrCorrupt)
			}
			if len(r.ifaces) == 0 {
				return Packet{}, fmt.Errorf("%w: simple packet block before any interface", ErrCorrupt)
			}
			orig := r.order.Uint32(body[0:])
			data := body[4:]
			n := uint64(orig)
			if sl := r.ifaces[0].snaplen; sl != 0 && uint64(sl) < n {
				n = uint64(sl)
			}
			if n > uint64(len(data)) {
				n = uint64(len(data))
			}
			r.n++
			return Packet{Time: r.last, LinkType: r.ifaces[0].linkType, Data: data[:n], OrigLen: int(max(orig, uint32(n)))}, nil
		default:
			// Name resolution, statistics, custom blocks: nothing for us.
		}
	}
}

func (r *Reader) packet(id uint32, ts uint64, data []byte, orig uint32) (Packet, error) {
	if int(id) >= len(r.ifaces) {
		return Packet{}, fmt.Errorf("%w: packet %d names interface %d of %d", ErrCorrupt, r.n+1, id, len(r.ifaces))
	}
	ifc := &r.ifaces[id]
	sec := int64(ts / ifc.unitsPerSec)
	rem := ts % ifc.unitsPerSec
	hi, lo := bits.Mul64(rem, 1e9)
	q, _ := bits.Div64(hi, lo, ifc.unitsPerSec) // rem < units: no overflow
	ns := int64(q)
	r.n++
	if orig < uint32(len(data)) {
		orig = uint32(len(data))
	}
	r.last = time.Unix(sec+ifc.offset, ns).UTC()
	return Packet{Time: r.last, LinkType: ifc.linkType, Interface: int(id), Data: data, OrigLen: int(orig)}, nil
}

func (r *Reader) addInterface(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("%w: interface block too short", ErrCorrupt)
	}
	if len(r.ifaces) >= maxInterfaces {
		return fmt.Errorf("%w: more than %d interfaces", ErrCorrupt, maxInterfaces)
	}
	ifc := ngInterface{linkType: uint32(r.order.Uint16(body[0:])), snaplen: r.order.Uint32(body[4:]), unitsPerSec: 1e6}
	// Options: code, length, value padded to 4 (§3.5).
	for o := body[8:]; len(o) >= 4; {
		code, n := r.order.Uint16(o[0:]), int(r.order.Uint16(o[2:]))
		if code == 0 {
			break
		}
		if 4+n > len(o) {
			return fmt.Errorf("%w: interface option %d overruns its block", ErrCorrupt, code)
		}
		v := o[4 : 4+n]
		switch {
		case code == 9 && n == 1: // if_tsresol
			exp := uint64(v[0] & 0x7f)
			base := uint64(10)
			if v[0]&0x80 != 0 {
				base = 2
			}
			// Resolutions finer than 1 ns (or coarser than 1 s in a
			// way that overflows) are refused rather than misread.
			units := uint64(1)
			for range exp {
				if units > math.MaxUint64/base {
					return fmt.Errorf("%w: interface timestamp resolution %#x", ErrCorrupt, v[0])
				}
				units *= base
			}
			if units > 1e12 {
				return fmt.Errorf("pcapng: interface timestamp resolution %#x is finer than supported", v[0])
			}
			ifc.unitsPerSec = units
		case code == 14 && n == 8: // if_tsoffset, seconds
			ifc.offset = int64(r.order.Uint64(v))
		}
		o = o[min(len(o), 4+(n+3)&^3):]
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}
