package stack_test

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

var (
	srv = netip.AddrPortFrom(addrB, 80)
	cli = netip.AddrPortFrom(addrA, 40000)
)

// openHalf sends a SYN from cli and returns the server's ISS.
func openHalf(t *testing.T, l *lone) seq.Num {
	t.Helper()
	l.deliver(packet(cli, srv, wire.FlagSYN, 1000, 0, synOpts(), nil))
	out := l.cap.segs()
	if len(out) != 1 || out[0].Flags != wire.FlagSYN|wire.FlagACK || out[0].Ack != 1001 {
		t.Fatalf("SYN answered with %v, want one SYN+ACK ack 1001", out)
	}
	return out[0].Seq
}

func wantEmpty(t *testing.T, l *lone, ln *stack.Listener) {
	t.Helper()
	conns, half, _ := l.s.Len()
	syn, acc := ln.Pending()
	if conns != 0 || half != 0 || syn != 0 || acc != 0 {
		t.Fatalf("left behind: %d conns, %d half-open (listener: %d syn, %d accept)", conns, half, syn, acc)
	}
	if _, ok := l.s.NextDeadline(); ok {
		t.Fatal("a timer is still armed")
	}
}

// Every way a half-open connection can end leaves the SYN queue empty.
func TestHalfOpenEveryPathFreesTheEntry(t *testing.T) {
	setup := func(t *testing.T) (*lone, *stack.Listener, *stateLog) {
		obs := &stateLog{}
		l := newLone(stack.Config{Observer: obs, SynCookies: stack.CookiesNever}, addrB)
		ln, err := l.s.Listen(l.now, srv, 0)
		if err != nil {
			t.Fatal(err)
		}
		return l, ln, obs
	}
	id := stack.ID{Local: srv, Remote: cli}

	t.Run("RST from the client", func(t *testing.T) {
		l, ln, obs := setup(t)
		openHalf(t, l)
		if syn, _ := ln.Pending(); syn != 1 {
			t.Fatalf("SYN queue %d, want 1", syn)
		}
		l.deliver(packet(cli, srv, wire.FlagRST, 1001, 0, wire.Options{}, nil))
		if got := l.cap.segs(); len(got) != 0 {
			t.Fatalf("a RST was answered: %v", got)
		}
		wantEmpty(t, l, ln)
		want := []tcp.State{tcp.StateListen, tcp.StateSynReceived, tcp.StateListen}
		if got := obs.byID[id]; !equalStates(got, want) {
			t.Fatalf("states %v, want %v", got, want)
		}
	})

	t.Run("SYN+ACK retries exhausted", func(t *testing.T) {
		l, ln, _ := setup(t)
		iss := openHalf(t, l)
		start := l.now
		var at []time.Duration
		for i := 0; i < 10; i++ {
			next, ok := l.s.NextDeadline()
			if !ok {
				break
			}
			l.advance(next.Sub(l.now))
			for _, s := range l.cap.segs() {
				if s.Flags != wire.FlagSYN|wire.FlagACK || s.Seq != iss {
					t.Fatalf("retransmission %v is not the SYN+ACK", s)
				}
				at = append(at, l.now.Sub(start))
			}
		}
		want := []time.Duration{1, 3, 7, 15, 31} // seconds: RTO 1 s doubling (RFC 6298 §5.5)
		if len(at) != len(want) {
			t.Fatalf("SYN+ACK retransmitted at %v, want %v s", at, want)
		}
		for i := range want {
			if at[i] != want[i]*time.Second {
				t.Fatalf("SYN+ACK retransmitted at %v, want %v s", at, want)
			}
		}
		wantEmpty(t, l, ln)
		if c := l.s.Counters(); c.AttemptFails != 1 {
			t.Fatalf("AttemptFails %d, want 1", c.AttemptFails)
		}
	})

	t.Run("failed handshake: wrong ACK, then time-out", func(t *testing.T) {
		l, ln, _ := setup(t)
		iss := openHalf(t, l)
		l.deliver(packet(cli, srv, wire.FlagACK, 1001, iss+77, wire.Options{}, nil))
		out := l.cap.segs()
		if len(out) != 1 || out[0].Flags != wire.FlagRST || out[0].Seq != iss+77 {
			t.Fatalf("bad ACK answered with %v, want RST seq=SEG.ACK (RFC 9293 §3.10.7.4)", out)
		}
		if _, half, _ := l.s.Len(); half != 1 {
			t.Fatal("the half-open entry must survive a forged ACK")
		}
		l.advance(2 * time.Minute)
		wantEmpty(t, l, ln)
	})

	t.Run("a new SYN in the window", func(t *testing.T) {
		l, ln, _ := setup(t)
		openHalf(t, l)
		l.deliver(packet(cli, srv, wire.FlagSYN, 5000, 0, synOpts(), nil))
		wantEmpty(t, l, ln) // RFC 9293 §3.10.7.4: SYN in SYN-RECEIVED, back to LISTEN
	})

	t.Run("a new SYN outside the window, then the client's RST", func(t *testing.T) {
		l, ln, _ := setup(t)
		openHalf(t, l)
		l.deliver(packet(cli, srv, wire.FlagSYN, 900_000, 0, synOpts(), nil))
		out := l.cap.segs()
		if len(out) != 1 || out[0].Flags != wire.FlagACK || out[0].Ack != 1001 {
			t.Fatalf("out-of-window SYN answered with %v, want an ACK of 1001", out)
		}
		// The restarted client does not know that ACK: it resets it
		// (RFC 9293 §3.5, Figure 10's half-open recovery).
		l.deliver(packet(cli, srv, wire.FlagRST, 1001, 0, wire.Options{}, nil))
		wantEmpty(t, l, ln)
	})

	t.Run("listener closed", func(t *testing.T) {
		l, ln, _ := setup(t)
		openHalf(t, l)
		ln.Close(l.now)
		wantEmpty(t, l, ln)
	})

	t.Run("completed and accepted", func(t *testing.T) {
		l, ln, _ := setup(t)
		iss := openHalf(t, l)
		l.deliver(packet(cli, srv, wire.FlagACK, 1001, iss+1, wire.Options{HasTimestamp: true, TSVal: 1001}, []byte("hi")))
		if _, half, _ := l.s.Len(); half != 0 {
			t.Fatal("entry still half-open after the final ACK")
		}
		c := ln.Accept()
		if c == nil || c.State() != tcp.StateEstablished {
			t.Fatalf("accepted %v", c)
		}
		buf := make([]byte, 8)
		if n, _ := c.Read(l.now, buf); string(buf[:n]) != "hi" {
			t.Fatalf("data on the third segment: %q", buf[:n])
		}
		if st := c.TCB().Status(); !st.WScale || !st.Timestamps || !st.SACK {
			t.Fatalf("options lost through the SYN queue: %+v", st)
		}
	})
}

func equalStates(a, b []tcp.State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// heapGrowth measures the live heap added by f, per item.
func heapGrowth(items int, f func()) float64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m0)
	f()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	return float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(items)
}

// A half-open entry costs at most 256 bytes, SYN queue, index and timer
// included, and no buffers.
func TestHalfOpenMemory(t *testing.T) {
	const n = 100_000
	l := newLone(stack.Config{SynBacklog: 2 * n, Backlog: 2 * n, SynCookies: stack.CookiesNever}, addrB)
	l.cap.keep = false
	ln, _ := l.s.Listen(l.now, srv, 0)
	pkts := make([][]byte, n)
	for i := range pkts {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 250)}), uint16(1024+i/250))
		pkts[i] = packet(src, srv, wire.FlagSYN, seq.Num(i*7919), 0, synOpts(), nil)
	}
	per := heapGrowth(n, func() {
		for _, p := range pkts {
			l.deliver(p)
		}
	})
	if syn, _ := ln.Pending(); syn != n {
		t.Fatalf("SYN queue holds %d, want %d", syn, n)
	}
	t.Logf("half-open entry: %.0f bytes of heap each (limit 256)", per)
	if per > 256 {
		t.Fatalf("half-open entry costs %.0f bytes, limit 256", per)
	}
	runtime.KeepAlive(pkts)
}
