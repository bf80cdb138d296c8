package pcap

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"
)

const (
	// MagicMicro and MagicNano are the file magics for microsecond and
	// nanosecond timestamps.
	MagicMicro = 0xa1b2c3d4
	MagicNano  = 0xa1b23c4d
	// LinkTypeRaw is LINKTYPE_RAW: each packet starts with its IP header.
	LinkTypeRaw = 101
	// DefaultSnaplen is used when NewWriter is given 0. It is larger than
	// any IP packet, so nothing is cut.
	DefaultSnaplen = 262144

	fileHeaderLen   = 24
	recordHeaderLen = 16
)

// Writer writes a pcap file. Its methods are safe for concurrent use;
// records never interleave.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	snaplen int
	nano    bool
	hdr     [recordHeaderLen]byte
	err     error
}

// NewWriter writes a file header with microsecond timestamps to w, the
// format every reader accepts. Packets longer than snaplen are cut to it
// (0 means DefaultSnaplen).
func NewWriter(w io.Writer, snaplen int) (*Writer, error) {
	return newWriter(w, snaplen, false)
}

// NewWriterNano is NewWriter with nanosecond timestamps, for simulated
// runs where several packets share a microsecond.
func NewWriterNano(w io.Writer, snaplen int) (*Writer, error) {
	return newWriter(w, snaplen, true)
}

func newWriter(w io.Writer, snaplen int, nano bool) (*Writer, error) {
	if snaplen < 0 {
		return nil, errors.New("pcap: negative snaplen")
	}
	if snaplen == 0 {
		snaplen = DefaultSnaplen
	}
	var h [fileHeaderLen]byte
	magic := uint32(MagicMicro)
	if nano {
		magic = MagicNano
	}
	// Little-endian; readers tell the byte order by the magic.
	le := binary.LittleEndian
	le.PutUint32(h[0:], magic)
	le.PutUint16(h[4:], 2) // version 2.4
	le.PutUint16(h[6:], 4)
	// thiszone and sigfigs stay 0, as every writer leaves them.
	le.PutUint32(h[16:], uint32(snaplen))
	le.PutUint32(h[20:], LinkTypeRaw)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &Writer{w: w, snaplen: snaplen, nano: nano}, nil
}

// WritePacket appends one record. Seconds are stored in 32 bits, as the
// format has it: a clock before 1970 or after 2106 wraps, which keeps the
// intervals between packets right. After a write error the Writer stops
// and returns that error, since a torn record would corrupt the rest of
// the file.
func (w *Writer) WritePacket(ts time.Time, pkt []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	frac := uint32(ts.Nanosecond())
	if !w.nano {
		frac /= 1000
	}
	n := min(len(pkt), w.snaplen)
	le := binary.LittleEndian
	le.PutUint32(w.hdr[0:], uint32(ts.Unix()))
	le.PutUint32(w.hdr[4:], frac)
	le.PutUint32(w.hdr[8:], uint32(n))
	le.PutUint32(w.hdr[12:], uint32(len(pkt)))
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		w.err = err
		return err
	}
	if _, err := w.w.Write(pkt[:n]); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Err returns the first write error, if any. A Tap ignores capture errors
// so that a full disk does not break the link; check here afterwards.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
