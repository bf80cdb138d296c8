package sim_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synack/synack/internal/tsharktest"
	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
)

// A capture of a clean run, IPv4 and IPv6, opened in tshark: every packet
// decodes as TCP with good checksums, nothing is malformed, and TCP
// analysis finds nothing to warn about — no retransmission, duplicate ACK,
// zero window or "ACKed unseen segment".
func TestCaptureDecodesCleanly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcap.NewWriter(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := sim.New(4)
	n.SetCapture(w)
	a := n.AddHost("A", addrA, stack.Config{}, netip.MustParseAddr("2001:db8::1"))
	b := n.AddHost("B", addrB, stack.Config{}, netip.MustParseAddr("2001:db8::2"))
	n.Connect(a, b, sim.LinkConfig{Delay: 10 * time.Millisecond})
	for _, dst := range []netip.AddrPort{srv, netip.MustParseAddrPort("[2001:db8::2]:80")} {
		ln, err := b.Stack.Listen(n.Now(), dst, 0)
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Stack.Dial(n.Now(), netip.AddrPort{}, dst)
		if err != nil {
			t.Fatal(err)
		}
		n.RunFor(time.Second)
		sc := ln.Accept()
		c.Write(n.Now(), make([]byte, 5000))
		n.RunFor(time.Second)
		sc.Read(n.Now(), make([]byte, 8000))
		sc.Write(n.Now(), []byte("thanks"))
		n.RunFor(time.Second)
		c.Read(n.Now(), make([]byte, 100))
		c.Close(n.Now())
		n.RunFor(time.Second)
		sc.Read(n.Now(), make([]byte, 100))
		sc.Close(n.Now())
		n.RunFor(2 * time.Minute)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	pkts := tsharktest.Decode(t, path, "frame.protocols", "tcp.flags.str", "tcp.checksum.status",
		"_ws.malformed", "tcp.analysis.flags", "_ws.expert.severity", "_ws.expert.message")
	if len(pkts) < 16 {
		t.Fatalf("only %d packets in the capture", len(pkts))
	}
	fins, syns := 0, 0
	for _, p := range pkts {
		if !strings.HasSuffix(p["frame.protocols"], ":tcp") {
			t.Errorf("not decoded as TCP: %s", p["line"])
		}
		if p["tcp.checksum.status"] != "1" || p["_ws.malformed"] != "" || p["tcp.analysis.flags"] != "" {
			t.Errorf("tshark complains: %s", p["line"])
		}
		if strings.Contains(p["_ws.expert.message"], "etransmission") || strings.Contains(p["_ws.expert.message"], "unseen") ||
			strings.Contains(p["_ws.expert.message"], "Dup") || strings.Contains(p["_ws.expert.message"], "ero window") {
			t.Errorf("TCP analysis warning: %s", p["line"])
		}
		if strings.Contains(p["tcp.flags.str"], "F") {
			fins++
		}
		if strings.Contains(p["tcp.flags.str"], "S") {
			syns++
		}
	}
	if syns != 4 || fins != 4 {
		t.Fatalf("%d SYNs and %d FINs, want 4 and 4 (two connections)", syns, fins)
	}
}
