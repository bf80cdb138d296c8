package wire

import "errors"

// Parse errors. They are sentinels rather than values carrying an offset so
// that returning one never allocates; test them with errors.Is.
var (
	// ErrTruncated: the buffer is shorter than the fixed part of a header.
	ErrTruncated = errors.New("wire: truncated header")

	// ErrBadDataOffset: the TCP data offset is below 5 words or points past
	// the end of the segment (RFC 9293 §3.1).
	ErrBadDataOffset = errors.New("wire: bad TCP data offset")

	// ErrBadOptionLength: a TCP option's length byte is 0 or 1, or is not
	// the length its kind requires (e.g. MSS with length 3).
	ErrBadOptionLength = errors.New("wire: bad TCP option length")

	// ErrOptionTruncated: a TCP option runs past the end of the header.
	ErrOptionTruncated = errors.New("wire: TCP option runs past header end")

	// ErrBadChecksum: an IPv4 header or TCP checksum does not verify.
	ErrBadChecksum = errors.New("wire: bad checksum")

	// ErrBadVersion: the IP version nibble is not the one expected.
	ErrBadVersion = errors.New("wire: bad IP version")

	// ErrBadHeaderLength: the IPv4 IHL is below 5 words (RFC 791 §3.1).
	ErrBadHeaderLength = errors.New("wire: bad IPv4 header length")

	// ErrBadTotalLength: the IPv4 total length is shorter than the header or
	// longer than the buffer.
	ErrBadTotalLength = errors.New("wire: bad IPv4 total length")

	// ErrBadPayloadLength: the IPv6 payload length runs past the buffer.
	ErrBadPayloadLength = errors.New("wire: bad IPv6 payload length")

	// ErrBadExtensionHeader: an IPv6 extension header runs past the payload,
	// a hop-by-hop header is not first (RFC 8200 §4.1), or a routing header
	// has segments left, so the packet is not for this host (§4.4).
	ErrBadExtensionHeader = errors.New("wire: bad IPv6 extension header")

	// ErrFragment: ParsePacket met an IP fragment. Reassembly is not done
	// here; the IP fields of the returned Packet are still filled in.
	ErrFragment = errors.New("wire: IP fragment")

	// ErrNotTCP: ParsePacket met a packet whose upper-layer protocol is not
	// TCP. The IP fields of the returned Packet are still filled in.
	ErrNotTCP = errors.New("wire: not a TCP packet")
)
