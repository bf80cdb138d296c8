package stack_test

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/internal/listentable"
	"github.com/synack/synack/seq"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

var (
	listenAddr = netip.AddrPortFrom(addrB, 80)
	peerAddr   = netip.AddrPortFrom(netip.MustParseAddr("192.0.2.9"), 40000)
)

// listening is a lone stack at addrB with a listener on port 80.
func listening(t *testing.T, cfg stack.Config) (*lone, *stack.Listener) {
	t.Helper()
	l := newLone(cfg, addrB)
	ln, err := l.s.Listen(l.now, listenAddr, 0)
	if err != nil {
		t.Fatal(err)
	}
	return l, ln
}

// A SYN+ACK to a listener is an ACK in LISTEN: <SEQ=SEG.ACK><CTL=RST>
// and no connection (RFC 9293 §3.10.7.2; Linux tcp_rcv_state_process),
// whatever the cookie mode — with cookies always, answering it with a
// cookie SYN+ACK made the listener a reflector. A SYN+FIN is dropped, as
// Linux does. Both opened a half-open connection before.
func TestListenerRefusesSynAckAndSynFin(t *testing.T) {
	for _, mode := range []stack.CookieMode{stack.CookiesNever, stack.CookiesAuto, stack.CookiesAlways} {
		l, _ := listening(t, stack.Config{SynCookies: mode})
		l.deliver(packet(peerAddr, listenAddr, wire.FlagSYN|wire.FlagACK, 7000, 12345, synOpts(), nil))
		got := l.cap.segs()
		if len(got) != 1 || got[0].Flags != wire.FlagRST || got[0].Seq != 12345 {
			t.Errorf("cookies %v: SYN+ACK to a listener answered with %v, want one RST seq 12345", mode, got)
		}
		l.deliver(packet(peerAddr, listenAddr, wire.FlagSYN|wire.FlagFIN, 8000, 0, synOpts(), nil))
		if got := l.cap.segs(); len(got) != 0 {
			t.Errorf("cookies %v: SYN+FIN to a listener answered with %v, want nothing", mode, got)
		}
		if conns, half, _ := l.s.Len(); conns+half != 0 {
			t.Errorf("cookies %v: %d connections, %d half-open after SYN+ACK and SYN+FIN, want none", mode, conns, half)
		}
	}
}

// cookieFor returns the cookie a stack seeded with seed answers a SYN
// from peerAddr with (the ISN of its SYN+ACK).
func cookieFor(t *testing.T, seed uint64, peerISN seq.Num) (seq.Num, time.Time) {
	t.Helper()
	l, _ := listening(t, stack.Config{Seed: seed, SynCookies: stack.CookiesAlways})
	l.deliver(packet(peerAddr, listenAddr, wire.FlagSYN, peerISN, 0, wire.Options{HasMSS: true, MSS: 1460}, nil))
	got := l.cap.segs()
	if len(got) != 1 || got[0].Flags != wire.FlagSYN|wire.FlagACK {
		t.Fatalf("a SYN with cookies always was answered with %v", got)
	}
	return got[0].Seq, l.now
}

// An ACK carrying a valid cookie is taken only within 2 minutes of the
// listener's last cookie (Linux cookie_v4_check, tcp_synq_no_recent_overflow):
// a listener that sent none answers it with RST. Before, in auto mode
// every bare ACK was checked as a cookie, so a blind guess could open a
// connection on any listener at any time.
func TestCookieAcceptedOnlyAfterRecentCookie(t *testing.T) {
	const seed = 7
	cookie, _ := cookieFor(t, seed, 5000)
	ack := packet(peerAddr, listenAddr, wire.FlagACK, 5001, cookie+1, wire.Options{}, nil)

	// A fresh listener in auto mode, the same keys, no cookie ever sent.
	l, ln := listening(t, stack.Config{Seed: seed, SynCookies: stack.CookiesAuto})
	l.deliver(ack)
	got := l.cap.segs()
	if len(got) != 1 || got[0].Flags != wire.FlagRST || got[0].Seq != cookie+1 {
		t.Errorf("a cookie ACK to a listener that sent no cookie was answered with %v, want RST seq %d", got, cookie+1)
	}
	if c := ln.Accept(); c != nil {
		t.Errorf("a connection was opened from a cookie the listener never sent: %v", c.State())
	}
	if n := l.s.Counters().SynCookiesRecv; n != 0 {
		t.Errorf("SynCookiesRecv %d, want 0", n)
	}

	// The same listener right after its SYN queue overflowed: the cookie
	// is checked and the connection opens.
	cfg := stack.Config{Seed: seed, SynCookies: stack.CookiesAuto, SynBacklog: 1}
	l, ln = listening(t, cfg)
	other := netip.AddrPortFrom(peerAddr.Addr(), 40001)
	l.deliver(packet(other, listenAddr, wire.FlagSYN, 9000, 0, wire.Options{HasMSS: true, MSS: 1460}, nil))
	l.deliver(packet(peerAddr, listenAddr, wire.FlagSYN, 5000, 0, wire.Options{HasMSS: true, MSS: 1460}, nil))
	if n := l.s.Counters().SynCookiesSent; n != 1 {
		t.Fatalf("SynCookiesSent %d after the SYN queue overflowed, want 1", n)
	}
	l.cap.segs()
	l.advance(90 * time.Second)
	l.cap.segs()
	l.deliver(ack)
	if c := ln.Accept(); c == nil {
		t.Errorf("a cookie ACK 90 s after the overflow opened no connection (sent %v)", l.cap.segs())
	}

	// And more than 2 minutes after it, no longer (the cookie itself
	// would still be within its two 64-second periods).
	l, ln = listening(t, cfg)
	l.deliver(packet(other, listenAddr, wire.FlagSYN, 9000, 0, wire.Options{HasMSS: true, MSS: 1460}, nil))
	l.deliver(packet(peerAddr, listenAddr, wire.FlagSYN, 5000, 0, wire.Options{HasMSS: true, MSS: 1460}, nil))
	l.advance(121 * time.Second)
	l.cap.segs()
	l.deliver(ack)
	if got := l.cap.segs(); len(got) != 1 || got[0].Flags != wire.FlagRST {
		t.Errorf("a cookie ACK 121 s after the last cookie was answered with %v, want RST", got)
	}
	if c := ln.Accept(); c != nil {
		t.Errorf("a cookie ACK 121 s after the last cookie opened a connection")
	}
}

// Closing a listener aborts the connections it completed but nobody
// accepted, as Linux inet_csk_listen_stop does (tcp_disconnect sends
// RST): the client reads ECONNRESET, not an EOF that would look like a
// served request — with or without a request sent, also when the client
// had already sent its FIN, and through Stack.Shutdown. Before, those
// with no unread data were closed with FIN.
func TestListenerCloseResetsUnaccepted(t *testing.T) {
	for _, via := range []string{"Listener.Close", "Stack.Shutdown"} {
		for _, tc := range []struct{ data, clientFIN bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
			clientFIN := tc.clientFIN
			n, a, b, _ := twoHosts(t, 3, sim.LinkConfig{}, stack.Config{}, stack.Config{})
			ln, err := b.Stack.Listen(n.Now(), listenAddr, 0)
			if err != nil {
				t.Fatal(err)
			}
			c, err := a.Stack.Dial(n.Now(), netip.AddrPort{}, listenAddr)
			if err != nil {
				t.Fatal(err)
			}
			n.RunFor(100 * time.Millisecond)
			if tc.data {
				if _, err := c.Write(n.Now(), []byte("GET /")); err != nil {
					t.Fatal(err)
				}
			}
			if clientFIN {
				c.CloseWrite(n.Now())
			}
			n.RunFor(100 * time.Millisecond)
			if _, accept := ln.Pending(); accept != 1 {
				t.Fatalf("%d connections waiting to be accepted, want 1", accept)
			}
			if via == "Listener.Close" {
				ln.Close(n.Now())
			} else {
				b.Stack.Shutdown(n.Now())
			}
			n.RunFor(100 * time.Millisecond)
			what := fmt.Sprintf("%s, request sent %v, client FIN %v", via, tc.data, clientFIN)
			if c.State() != tcp.StateClosed || !errors.Is(c.Err(), syscall.ECONNRESET) {
				t.Errorf("%s: client %v, %v; want CLOSED by ECONNRESET", what, c.State(), c.Err())
			}
			if _, err := c.Read(n.Now(), make([]byte, 10)); !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("%s: client read returned %v, want ECONNRESET", what, err)
			}
			if conns, half, tw := b.Stack.Len(); conns+half+tw != 0 {
				t.Errorf("%s: server keeps %d connections, %d half-open, %d TIME-WAIT", what, conns, half, tw)
			}
		}
	}
}

// The listener table (internal/listentable), checked here against synack
// and in interop against a Linux listener: every kind of segment sent to
// a listener, in each cookie mode, with the answer and the state left.
func TestListenerTable(t *testing.T) {
	for _, m := range listentable.Modes {
		for _, r := range listentable.Rows {
			if !r.Applies(m) {
				continue
			}
			t.Run(m.String()+"/"+r.Name, func(t *testing.T) {
				cfg := stack.Config{SynCookies: stack.CookiesAuto, Seed: 11}
				switch m {
				case listentable.Never:
					cfg.SynCookies = stack.CookiesNever
				case listentable.Always:
					cfg.SynCookies = stack.CookiesAlways
				case listentable.AutoOverflow:
					cfg.SynBacklog = 1
				}
				l, ln := listening(t, cfg)
				if m == listentable.AutoOverflow {
					// One unanswered SYN fills the queue; the next is
					// answered with a cookie.
					for port := uint16(1000); port < 1002; port++ {
						src := netip.AddrPortFrom(peerAddr.Addr(), port)
						l.deliver(packet(src, listenAddr, wire.FlagSYN, 100, 0, wire.Options{HasMSS: true, MSS: 1460}, nil))
					}
					if n := l.s.Counters().SynCookiesSent; n != 1 {
						t.Fatalf("%d cookies sent by the overflow, want 1", n)
					}
				}
				_, half0, _ := l.s.Len()
				l.cap.segs()
				const peerISN, blindAck = 7000, 12345
				ack := seq.Num(blindAck)
				if r.ValidCookie {
					l.deliver(packet(peerAddr, listenAddr, wire.FlagSYN, peerISN, 0, wire.Options{HasMSS: true, MSS: 1460}, nil))
					sa := l.cap.segs()
					if len(sa) != 1 || sa[0].Flags != wire.FlagSYN|wire.FlagACK {
						t.Fatalf("the SYN for a cookie was answered with %v", sa)
					}
					ack = sa[0].Seq + 1
				}
				sq := seq.Num(peerISN)
				if r.Flags&wire.FlagSYN == 0 {
					sq++
				}
				l.deliver(packet(peerAddr, listenAddr, r.Flags, sq, ack, wire.Options{HasMSS: r.Flags&wire.FlagSYN != 0, MSS: 1460}, make([]byte, r.Data)))
				got := l.cap.segs()
				if want := r.Reply(m); !want.Matches(got, sq, ack) {
					t.Errorf("answered with %v, want %v", got, want)
				}
				_, half, _ := l.s.Len()
				state := listentable.NoConn
				switch {
				case ln.Accept() != nil:
					state = listentable.Established
				case half > half0:
					state = listentable.HalfOpen
				}
				if want := r.State(m); state != want {
					t.Errorf("left %v, want %v", state, want)
				}
			})
		}
	}
}

// A listener traces its passive OPEN and its CLOSE through the core's
// transition function (RFC 9293 §3.10.1, §3.10.4), under its own ID: its
// address and no remote end.
func TestListenerTracesOpenAndClose(t *testing.T) {
	obs := &stateLog{}
	l, ln := listening(t, stack.Config{Observer: obs})
	ln.Close(l.now)
	id := stack.ID{Local: listenAddr}
	if got := obs.byID[id]; fmt.Sprint(got) != "[CLOSED LISTEN CLOSED]" {
		t.Fatalf("the listener %v went through %v, want CLOSED LISTEN CLOSED", id, got)
	}
	if id.String() != "192.0.2.2:80" {
		t.Fatalf("a listener's ID prints as %q", id)
	}
}
