package stack_test

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
)

func twoHosts(t *testing.T, seed uint64, lc sim.LinkConfig, cfgA, cfgB stack.Config) (*sim.Network, *sim.Host, *sim.Host, *sim.Link) {
	t.Helper()
	n := sim.New(seed)
	a := n.AddHost("A", addrA, cfgA)
	b := n.AddHost("B", addrB, cfgB)
	if lc.Delay == 0 {
		lc.Delay = 5 * time.Millisecond
	}
	l := n.Connect(a, b, lc)
	return n, a, b, l
}

// drain reads everything readable from c.
func drain(now time.Time, c *stack.Conn, into *bytes.Buffer) (eof bool, err error) {
	buf := make([]byte, 32<<10)
	for {
		k, err := c.Read(now, buf)
		into.Write(buf[:k])
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if k == 0 {
			return false, nil
		}
	}
}

func TestDialAcceptTransferClose(t *testing.T) {
	n, a, b, _ := twoHosts(t, 1, sim.LinkConfig{}, stack.Config{}, stack.Config{})
	l, err := b.Stack.Listen(n.Now(), netip.AddrPortFrom(addrB, 80), 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Stack.Dial(n.Now(), netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	if c.State() != tcp.StateEstablished {
		t.Fatalf("client %v", c.State())
	}
	sc := l.Accept()
	if sc == nil {
		t.Fatal("nothing to accept")
	}
	msg := bytes.Repeat([]byte("0123456789"), 50_000)
	sent := 0
	var got bytes.Buffer
	for i := 0; i < 10_000 && got.Len() < len(msg); i++ {
		if sent < len(msg) {
			k, err := c.Write(n.Now(), msg[sent:])
			if err != nil {
				t.Fatal(err)
			}
			sent += k
		}
		n.RunFor(10 * time.Millisecond)
		drain(n.Now(), sc, &got)
	}
	if !bytes.Equal(got.Bytes(), msg) {
		t.Fatalf("server got %d bytes, want %d", got.Len(), len(msg))
	}
	c.Close(n.Now())
	n.RunFor(time.Second)
	if eof, _ := drain(n.Now(), sc, &got); !eof {
		t.Fatal("server did not read EOF after the client's FIN")
	}
	sc.Close(n.Now())
	n.RunFor(time.Second)
	conns, half, tw := a.Stack.Len()
	if conns != 0 || half != 0 || tw != 1 {
		t.Fatalf("client tables: %d conns, %d half-open, %d TIME-WAIT; want 0/0/1", conns, half, tw)
	}
	if conns, _, _ := b.Stack.Len(); conns != 0 {
		t.Fatalf("server still has %d connections", conns)
	}
	n.RunFor(61 * time.Second)
	if _, _, tw := a.Stack.Len(); tw != 0 {
		t.Fatalf("TIME-WAIT record not freed after 2MSL")
	}
	if !n.RunUntilIdle(time.Hour) {
		t.Fatal("network not idle")
	}
	ca, cb := a.Stack.Counters(), b.Stack.Counters()
	if ca.ActiveOpens != 1 || cb.PassiveOpens != 1 || ca.CurrEstab != 0 || cb.CurrEstab != 0 {
		t.Fatalf("counters: A %+v B %+v", ca, cb)
	}
}
