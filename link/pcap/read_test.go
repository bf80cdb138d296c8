package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

// readAll reads every packet, copying the data.
func readAll(t testing.TB, b []byte) ([]Packet, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out []Packet
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)

func TestReadWhatWriterWrites(t *testing.T) {
	for _, nano := range []bool{false, true} {
		var b bytes.Buffer
		w, _ := newWriter(&b, 0, nano)
		pkts := [][]byte{{0x45, 1, 2}, {0x60, 3}, bytes.Repeat([]byte{9}, 2000)}
		for i, p := range pkts {
			w.WritePacket(t0.Add(time.Duration(i)*time.Millisecond), p)
		}
		got, err := readAll(t, b.Bytes())
		if err != nil || len(got) != len(pkts) {
			t.Fatalf("nano=%v: %d packets, %v", nano, len(got), err)
		}
		for i, p := range got {
			want := t0.Add(time.Duration(i) * time.Millisecond)
			if !nano {
				want = want.Truncate(time.Microsecond)
			}
			if !p.Time.Equal(want) || !bytes.Equal(p.Data, pkts[i]) || p.LinkType != LinkTypeRaw || p.Cut() {
				t.Errorf("nano=%v packet %d: %v %x link %d, want %v %x", nano, i, p.Time, p.Data, p.LinkType, want, pkts[i])
			}
		}
	}
}

// bigEndianPcap builds a big-endian pcap file by hand, as a SPARC or a
// PowerPC tcpdump writes it, with a snaplen that cut the second packet.
func bigEndianPcap(nano bool) []byte {
	be := binary.BigEndian
	var b []byte
	magic := uint32(MagicMicro)
	if nano {
		magic = MagicNano
	}
	b = be.AppendUint32(b, magic)
	b = be.AppendUint16(b, 2)
	b = be.AppendUint16(b, 4)
	b = be.AppendUint32(b, 0)
	b = be.AppendUint32(b, 0)
	b = be.AppendUint32(b, 4) // snaplen
	b = be.AppendUint32(b, LinkTypeEthernet)
	rec := func(sec, frac uint32, data []byte, orig uint32) {
		b = be.AppendUint32(b, sec)
		b = be.AppendUint32(b, frac)
		b = be.AppendUint32(b, uint32(len(data)))
		b = be.AppendUint32(b, orig)
		b = append(b, data...)
	}
	rec(100, 999999, []byte{1, 2, 3}, 3)
	rec(101, 5, []byte{4, 5, 6, 7}, 60)
	return b
}

func TestReadBigEndian(t *testing.T) {
	for _, nano := range []bool{false, true} {
		got, err := readAll(t, bigEndianPcap(nano))
		if err != nil || len(got) != 2 {
			t.Fatalf("%d packets, %v", len(got), err)
		}
		unit := time.Microsecond
		if nano {
			unit = time.Nanosecond
		}
		if want := time.Unix(100, 0).Add(999999 * unit); !got[0].Time.Equal(want) {
			t.Errorf("nano=%v: first packet at %v, want %v", nano, got[0].Time, want)
		}
		if got[1].LinkType != LinkTypeEthernet || !got[1].Cut() || got[1].OrigLen != 60 || len(got[1].Data) != 4 {
			t.Errorf("second packet: link %d, %d of %d bytes, cut %v", got[1].LinkType, len(got[1].Data), got[1].OrigLen, got[1].Cut())
		}
	}
}

// ng builds pcapng blocks in a byte order.
type ng struct {
	o interface {
		binary.ByteOrder
		binary.AppendByteOrder
	}
	b []byte
}

func (n *ng) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	l := uint32(12 + len(body))
	n.b = n.o.AppendUint32(n.b, typ)
	n.b = n.o.AppendUint32(n.b, l)
	n.b = append(n.b, body...)
	n.b = n.o.AppendUint32(n.b, l)
}

func (n *ng) shb() {
	var body []byte
	body = n.o.AppendUint32(body, ngByteOrder)
	body = n.o.AppendUint16(body, 1)
	body = n.o.AppendUint16(body, 0)
	body = n.o.AppendUint64(body, ^uint64(0)) // section length unknown
	n.block(ngSHB, body)
}

// idb adds an interface; tsresol 0 means the default (microseconds).
func (n *ng) idb(link uint16, snaplen uint32, tsresol byte) {
	var body []byte
	body = n.o.AppendUint16(body, link)
	body = n.o.AppendUint16(body, 0)
	body = n.o.AppendUint32(body, snaplen)
	body = n.o.AppendUint16(body, 2) // if_name, to be skipped
	body = n.o.AppendUint16(body, 3)
	body = append(body, 'e', 't', 'h', 0)
	if tsresol != 0 {
		body = n.o.AppendUint16(body, 9)
		body = n.o.AppendUint16(body, 1)
		body = append(body, tsresol, 0, 0, 0)
	}
	body = n.o.AppendUint32(body, 0) // opt_endofopt
	n.block(ngIDB, body)
}

func (n *ng) epb(iface uint32, ts uint64, data []byte, orig uint32) {
	var body []byte
	body = n.o.AppendUint32(body, iface)
	body = n.o.AppendUint32(body, uint32(ts>>32))
	body = n.o.AppendUint32(body, uint32(ts))
	body = n.o.AppendUint32(body, uint32(len(data)))
	body = n.o.AppendUint32(body, orig)
	body = append(body, data...)
	n.block(ngEPB, body)
}

func (n *ng) spb(data []byte) {
	body := n.o.AppendUint32(nil, uint32(len(data)))
	n.block(ngSPB, append(body, data...))
}

// sampleNG is a pcapng file of two sections: the first little-endian,
// with an Ethernet interface in microseconds and a raw-IP one in
// nanoseconds, an unknown block between packets and a simple packet
// block; the second big-endian with one Linux cooked v2 interface.
func sampleNG() []byte {
	n := &ng{o: binary.LittleEndian}
	n.shb()
	n.idb(LinkTypeEthernet, 0, 0)
	n.idb(LinkTypeRaw, 0, 9)
	n.epb(0, uint64(t0.UnixMicro()), []byte{1, 2, 3}, 3)
	n.block(0x0BAD, []byte{1, 2, 3, 4})
	n.epb(1, uint64(t0.UnixNano()), []byte{4, 5}, 2)
	n.spb([]byte{6, 7, 8})
	m := &ng{o: binary.BigEndian}
	m.shb()
	m.idb(LinkTypeLinuxSLL2, 2, 0x80|20) // 2^-20 s
	m.epb(0, 3<<20|1<<19, []byte{9, 10}, 80)
	return append(n.b, m.b...)
}

func TestReadPcapng(t *testing.T) {
	got, err := readAll(t, sampleNG())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		link  uint32
		iface int
		t     time.Time
		data  []byte
		orig  int
	}{
		{LinkTypeEthernet, 0, t0.Truncate(time.Microsecond), []byte{1, 2, 3}, 3},
		{LinkTypeRaw, 1, t0, []byte{4, 5}, 2},
		{LinkTypeEthernet, 0, t0, []byte{6, 7, 8}, 3}, // a simple packet block has no time: the last one's
		{LinkTypeLinuxSLL2, 0, time.Unix(3, 500000000).UTC(), []byte{9, 10}, 80},
	}
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.LinkType != w.link || g.Interface != w.iface || !g.Time.Equal(w.t) || !bytes.Equal(g.Data, w.data) || g.OrigLen != w.orig {
			t.Errorf("packet %d: link %d iface %d %v %x orig %d; want link %d iface %d %v %x orig %d",
				i, g.LinkType, g.Interface, g.Time, g.Data, g.OrigLen, w.link, w.iface, w.t, w.data, w.orig)
		}
	}
}

// A file cut anywhere reads its whole records and then says it was cut;
// it never panics and never invents a packet.
func TestReadTruncated(t *testing.T) {
	var pc bytes.Buffer
	w, _ := NewWriter(&pc, 0)
	w.WritePacket(t0, []byte{0x45, 0, 0, 20})
	w.WritePacket(t0, []byte{0x45, 0, 0, 21})
	for name, file := range map[string][]byte{"pcap": pc.Bytes(), "pcapng": sampleNG(), "big-endian": bigEndianPcap(false)} {
		full, err := readAll(t, file)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(file); n++ {
			got, err := readAll(t, file[:n])
			if len(got) > len(full) {
				t.Fatalf("%s cut at %d: %d packets of %d", name, n, len(got), len(full))
			}
			if err == nil && len(got) == len(full) {
				t.Fatalf("%s cut at %d of %d bytes: read as whole", name, n, len(file))
			}
			if err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotCapture) {
				t.Fatalf("%s cut at %d: %v, want ErrTruncated", name, n, err)
			}
		}
	}
}

func TestReadCorrupt(t *testing.T) {
	bad := bigEndianPcap(false)
	binary.BigEndian.PutUint32(bad[24+8:], 1<<30) // the first record's length
	if _, err := readAll(t, bad); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a record of 1 GiB: %v, want ErrCorrupt", err)
	}
	frac := bigEndianPcap(false)
	binary.BigEndian.PutUint32(frac[24+4:], 2e6)
	if _, err := readAll(t, frac); !errors.Is(err, ErrCorrupt) {
		t.Errorf("2e6 microseconds: %v, want ErrCorrupt", err)
	}
	ngb := sampleNG()
	ngb[len(ngb)-1] ^= 0xff // the last block's trailing length
	if _, err := readAll(t, ngb); !errors.Is(err, ErrCorrupt) {
		t.Errorf("trailing length differs: %v, want ErrCorrupt", err)
	}
	n := &ng{o: binary.LittleEndian}
	n.shb()
	n.idb(LinkTypeRaw, 0, 0)
	n.epb(3, 0, []byte{1}, 1)
	if _, err := readAll(t, n.b); !errors.Is(err, ErrCorrupt) {
		t.Errorf("packet of interface 3 of 1: %v, want ErrCorrupt", err)
	}
	if _, err := readAll(t, []byte("GET / HTTP/1.1\r\n")); !errors.Is(err, ErrNotCapture) {
		t.Errorf("HTTP: %v, want ErrNotCapture", err)
	}
}

func TestIPPayload(t *testing.T) {
	ip := []byte{0x45, 0, 0, 20}
	eth := func(types ...uint16) []byte {
		b := make([]byte, 12)
		for i, et := range types {
			b = binary.BigEndian.AppendUint16(b, et)
			if i < len(types)-1 {
				b = append(b, 0, 7) // the VLAN tag's TCI (VLAN 7)
			}
		}
		return append(b, ip...)
	}
	sll := append(append(make([]byte, 14), 0x08, 0x00), ip...)
	sll2 := append(append([]byte{0x86, 0xdd}, make([]byte, 18)...), 0x60, 0, 0, 0)
	tests := []struct {
		name string
		link uint32
		data []byte
		want []byte
		err  error
	}{
		{"raw", LinkTypeRaw, ip, ip, nil},
		{"raw IPv4", LinkTypeIPv4, ip, ip, nil},
		{"ethernet", LinkTypeEthernet, eth(etherIPv4), ip, nil},
		{"802.1Q", LinkTypeEthernet, eth(etherVLAN, etherIPv4), ip, nil},
		{"QinQ", LinkTypeEthernet, eth(etherQinQ, etherVLAN, etherIPv4), ip, nil},
		{"ARP", LinkTypeEthernet, eth(0x0806), nil, ErrNotIP},
		{"short ethernet", LinkTypeEthernet, []byte{1, 2, 3}, nil, ErrShortFrame},
		{"tag without room", LinkTypeEthernet, eth(etherVLAN)[:15], nil, ErrShortFrame},
		{"cooked v1", LinkTypeLinuxSLL, sll, ip, nil},
		{"cooked v2 IPv6", LinkTypeLinuxSLL2, sll2, []byte{0x60, 0, 0, 0}, nil},
		{"short cooked", LinkTypeLinuxSLL2, sll2[:19], nil, ErrShortFrame},
		{"802.11", 105, ip, nil, ErrUnknownLinkType},
	}
	for _, tt := range tests {
		got, err := IPPayload(tt.link, tt.data)
		if !errors.Is(err, tt.err) || !bytes.Equal(got, tt.want) {
			t.Errorf("%s: %x, %v; want %x, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

// FuzzReader: whatever the bytes, reading and decoding a capture never
// panics, and every packet returned is within the limits the reader
// promises.
func FuzzReader(f *testing.F) {
	var pc bytes.Buffer
	w, _ := NewWriterNano(&pc, 0)
	w.WritePacket(t0, []byte{0x45, 0, 0, 20, 1, 2})
	f.Add(pc.Bytes())
	f.Add(sampleNG())
	f.Add(bigEndianPcap(true))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		for range 10000 {
			p, err := r.Next()
			if err != nil {
				return
			}
			if len(p.Data) > ngMaxBlock || p.OrigLen < len(p.Data) {
				t.Fatalf("packet of %d bytes, %d on the wire", len(p.Data), p.OrigLen)
			}
			IPPayload(p.LinkType, p.Data)
		}
	})
}
