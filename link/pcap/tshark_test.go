package pcap

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synack/synack/internal/tsharktest"
	"github.com/synack/synack/link"
	"github.com/synack/synack/link/internal/pkttest"
)

// step is one segment of a scripted conversation: fromClient says which
// side sends it.
type step struct {
	fromClient bool
	flags      uint8
	seq, ack   uint32 // relative to each side's ISN
	data       string
}

// conversation is a whole connection: handshake, data both ways, and the
// four-way close with the client closing first.
var conversation = []step{
	{true, pkttest.SYN, 0, 0, ""},
	{false, pkttest.SYN | pkttest.ACK, 0, 1, ""},
	{true, pkttest.ACK, 1, 1, ""},
	{true, pkttest.PSH | pkttest.ACK, 1, 1, "hello"},
	{false, pkttest.ACK, 1, 6, ""},
	{false, pkttest.PSH | pkttest.ACK, 1, 6, "world!"},
	{true, pkttest.ACK, 6, 7, ""},
	{true, pkttest.FIN | pkttest.ACK, 6, 7, ""},
	{false, pkttest.ACK, 7, 7, ""},
	{false, pkttest.FIN | pkttest.ACK, 7, 7, ""},
	{true, pkttest.ACK, 7, 8, ""},
}

const clientISN, serverISN = 0x12345678, 0xfedcba98

// build returns step s of a conversation between client and server.
func (s step) build(client, server netip.AddrPort) []byte {
	seg := pkttest.Segment{Src: client, Dst: server, Seq: clientISN + s.seq, Window: 64240}
	if !s.fromClient {
		seg.Src, seg.Dst, seg.Seq = server, client, serverISN+s.seq
	}
	if s.flags&pkttest.ACK != 0 {
		seg.Ack = serverISN + s.ack
		if !s.fromClient {
			seg.Ack = clientISN + s.ack
		}
	}
	seg.Flags = s.flags
	if s.flags&pkttest.SYN != 0 {
		seg.Options = pkttest.SynOptions(1460, 1000, 0, 7)
		if s.flags&pkttest.ACK != 0 {
			seg.Options = pkttest.SynOptions(1460, 2000, 1000, 7)
		}
	}
	seg.Payload = []byte(s.data)
	return seg.Build()
}

// capture runs the conversation over a Pipe whose client end is tapped,
// in lock step so that the file's order is the conversation's, and
// returns the file's path.
func capture(t *testing.T, flows [][2]netip.AddrPort) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conversation.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := link.Pipe(1500)
	clk := &stepClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	client := Tap(a, w, clk)
	defer client.Close()
	defer b.Close()
	toClient, toServer := make(chan []byte, 1), make(chan []byte, 1)
	client.Attach(link.ReceiverFunc(func(p []byte) { toClient <- bytes.Clone(p) }))
	b.Attach(link.ReceiverFunc(func(p []byte) { toServer <- bytes.Clone(p) }))
	for _, fl := range flows {
		for i, s := range conversation {
			pkt := s.build(fl[0], fl[1])
			if !pkttest.Valid(pkt) {
				t.Fatalf("step %d: built an invalid packet", i)
			}
			from, arrived := client, toServer
			if !s.fromClient {
				from, arrived = b, toClient
			}
			if err := from.WritePacket(pkt); err != nil {
				t.Fatal(err)
			}
			if got := <-arrived; !bytes.Equal(got, pkt) {
				t.Fatalf("step %d: packet changed on the way", i)
			}
		}
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// fields are what the tests ask tshark of each packet.
var fields = []string{"frame.protocols", "ip.src", "ipv6.src", "tcp.srcport", "tcp.flags",
	"tcp.seq", "tcp.ack", "tcp.len", "ip.checksum.status", "tcp.checksum.status",
	"_ws.malformed", "_ws.expert.severity", "_ws.expert.message", "tcp.analysis.flags", "tcp.stream"}

// Values of the checksum status fields and expert severities.
const (
	checksumBad  = "0"
	checksumGood = "1"
	sevChat      = "2097152" // PI_CHAT
	sevNote      = "4194304" // PI_NOTE
)

// decode returns, per packet of the file, the fields by name.
func decode(t *testing.T, path string) []map[string]string {
	t.Helper()
	return tsharktest.Decode(t, path, fields...)
}

// TestTsharkDecodesConversation is the check that the files are real pcap:
// tshark must decode every packet of an IPv4 and an IPv6 connection as TCP
// with the flags, numbers and lengths we sent, good IP and TCP checksums,
// nothing malformed or worth a warning, and its TCP analysis must follow
// the handshake and the close as we meant them.
func TestTsharkDecodesConversation(t *testing.T) {
	flows := [][2]netip.AddrPort{
		{netip.MustParseAddrPort("192.0.2.1:47000"), netip.MustParseAddrPort("198.51.100.7:47001")},
		{netip.MustParseAddrPort("[2001:db8::1]:47002"), netip.MustParseAddrPort("[2001:db8::2]:47003")},
	}
	pkts := decode(t, capture(t, flows))
	if len(pkts) != len(flows)*len(conversation) {
		t.Fatalf("tshark shows %d packets, want %d", len(pkts), len(flows)*len(conversation))
	}
	for i, p := range pkts {
		fl, s := flows[i/len(conversation)], conversation[i%len(conversation)]
		ipProto, src := "ip", p["ip.src"]
		if fl[0].Addr().Is6() {
			ipProto, src = "ipv6", p["ipv6.src"]
		}
		wantProto := "raw:" + ipProto + ":tcp"
		if s.data != "" {
			wantProto += ":data"
		}
		sender, isn, peerISN := fl[0], uint32(clientISN), uint32(serverISN)
		if !s.fromClient {
			sender, isn, peerISN = fl[1], serverISN, clientISN
		}
		wantAck := "0"
		if s.flags&pkttest.ACK != 0 {
			wantAck = fmt.Sprint(peerISN + s.ack)
		}
		checks := []struct{ name, got, want string }{
			{"protocols", p["frame.protocols"], wantProto},
			{"source", src, sender.Addr().String()},
			{"source port", p["tcp.srcport"], fmt.Sprint(sender.Port())},
			{"flags", p["tcp.flags"], fmt.Sprintf("0x%04x", s.flags)},
			{"seq", p["tcp.seq"], fmt.Sprint(isn + s.seq)},
			{"ack", p["tcp.ack"], wantAck},
			{"len", p["tcp.len"], fmt.Sprint(len(s.data))},
			{"tcp checksum", p["tcp.checksum.status"], checksumGood},
			{"malformed", p["_ws.malformed"], ""},
			{"analysis", p["tcp.analysis.flags"], ""},
			{"stream", p["tcp.stream"], fmt.Sprint(i / len(conversation))},
		}
		if ipProto == "ip" {
			checks = append(checks, struct{ name, got, want string }{"ip checksum", p["ip.checksum.status"], checksumGood})
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("packet %d %s: %q, want %q\n%s", i+1, c.name, c.got, c.want, p["line"])
			}
		}
		msgs := strings.Split(p["_ws.expert.message"], ",")
		for _, want := range expert(s, fl[1].Port()) {
			if !slices.Contains(msgs, want) {
				t.Errorf("packet %d: no expert item %q\n%s", i+1, want, p["line"])
			}
		}
		for _, sev := range strings.Split(p["_ws.expert.severity"], ",") {
			if sev != "" && sev != sevChat && sev != sevNote {
				t.Errorf("packet %d: expert severity %s\n%s", i+1, sev, p["line"])
			}
		}
	}
}

// expert is what tshark's TCP analysis says of step s: it names the
// handshake and tells the active closer's FIN from the passive one's.
func expert(s step, serverPort uint16) []string {
	switch {
	case s.flags == pkttest.SYN:
		return []string{fmt.Sprintf("Connection establish request (SYN): server port %d", serverPort)}
	case s.flags == pkttest.SYN|pkttest.ACK:
		return []string{fmt.Sprintf("Connection establish acknowledge (SYN+ACK): server port %d", serverPort)}
	case s.flags&pkttest.FIN != 0 && s.fromClient:
		return []string{"Connection finish (FIN)", "This frame initiates the connection closing"}
	case s.flags&pkttest.FIN != 0:
		return []string{"Connection finish (FIN)", "This frame undergoes the connection closing"}
	}
	return nil
}

// The control: the same checks do see a bad checksum and a malformed
// packet, so the test above passing means something.
func TestTsharkSeesDamage(t *testing.T) {
	cl, sv := netip.MustParseAddrPort("192.0.2.1:47000"), netip.MustParseAddrPort("198.51.100.7:47001")
	good := conversation[3].build(cl, sv)
	badSum := bytes.Clone(good)
	badSum[len(badSum)-1] ^= 0xff // payload byte: only the TCP checksum fails
	short := bytes.Clone(good[:20+12])
	short[3] = 20 + 12 // total length matches, TCP header cut short
	short[10], short[11] = 0, 0
	fixIPv4Checksum(short)

	path := filepath.Join(t.TempDir(), "damaged.pcap")
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, 0)
	for _, p := range [][]byte{good, badSum, short} {
		w.WritePacket(time.Unix(1, 0), p)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pkts := decode(t, path)
	if len(pkts) != 3 {
		t.Fatalf("%d packets", len(pkts))
	}
	if p := pkts[0]; p["tcp.checksum.status"] != checksumGood || p["_ws.malformed"] != "" {
		t.Errorf("good packet: %s", p["line"])
	}
	if p := pkts[1]; p["tcp.checksum.status"] != checksumBad {
		t.Errorf("bad checksum not seen: %s", p["line"])
	}
	if p := pkts[2]; p["_ws.malformed"] == "" {
		t.Errorf("cut header not seen: %s", p["line"])
	}
}

func fixIPv4Checksum(h []byte) {
	var s uint32
	for i := 0; i < 20; i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	h[10], h[11] = byte(^s>>8), byte(^s)
}
