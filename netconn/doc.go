// Package netconn bridges ordinary goroutines and a stack.Stack: a Stack
// gives net.Conn (*Conn), net.Listener (*Listener), Dial and Listen, with
// the contracts of package net, over links of package link. It is the only
// package of synack with goroutines and locks.
//
// # Real time
//
// Make a Stack, give it a link with its addresses, and use it as package
// net is used:
//
//	a, b := link.Pipe(1500)
//	client, server := netconn.New(stack.Config{}), netconn.New(stack.Config{})
//	client.AddLink(a, netip.MustParsePrefix("192.0.2.1/24"))
//	server.AddLink(b, netip.MustParsePrefix("192.0.2.2/24"))
//	ln, _ := server.Listen("tcp", "192.0.2.2:80")
//	c, _ := client.Dial("tcp", "192.0.2.2:80") // a net.Conn
//	defer client.Close()
//
// Dialer and ListenConfig take the fields of net.Dialer and
// net.ListenConfig that apply (Timeout, Deadline, LocalAddr, KeepAlive,
// KeepAliveConfig; Backlog), with the same meanings, plus the Stack to
// use. Hosts are IP addresses: netconn does no name resolution.
//
// # Virtual time, with testing/synctest
//
// The stack's clock is time.Now and its one timer a runtime timer, so
// inside a testing/synctest bubble they are the bubble's virtual clock:
// a user's test of their own net.Conn code runs over a lossy link, or
// waits out a two-hour keepalive, in milliseconds of real time, and the
// durations it observes are exact. Create the Stacks and links inside the
// bubble, and close the Stacks before it ends (t.Cleanup does), so that
// the links' goroutines exit:
//
//	func TestDeadPeer(t *testing.T) {
//		synctest.Test(t, func(t *testing.T) {
//			a, b := link.Pipe(1500)
//			var gone atomic.Bool
//			b = link.NewFaulty(b, link.Faults{Dir: link.Both,
//				Drop: func([]byte) bool { return gone.Load() }}, 1)
//			client, server := netconn.New(stack.Config{}), netconn.New(stack.Config{})
//			t.Cleanup(func() { client.Close(); server.Close() })
//			client.AddLink(a, netip.MustParsePrefix("192.0.2.1/24"))
//			server.AddLink(b, netip.MustParsePrefix("192.0.2.2/24"))
//			ln, _ := server.Listen("tcp", "192.0.2.2:80")
//			go ln.Accept()
//			d := netconn.Dialer{Stack: client, KeepAliveConfig: net.KeepAliveConfig{
//				Enable: true, Idle: 2 * time.Hour, Interval: 75 * time.Second, Count: 9}}
//			c, _ := d.Dial("tcp", "192.0.2.2:80")
//			synctest.Wait()
//			gone.Store(true)
//			_, err := c.Read(make([]byte, 1)) // 2h11m15s later, virtually
//			if !errors.Is(err, syscall.ETIMEDOUT) {
//				t.Fatal(err)
//			}
//		})
//	}
//
// # The lock
//
// A stack.Stack is single-threaded. Each Stack has one mutex that every
// call into it holds: packets arriving from a link, the timer, and every
// method of Stack, Conn, Listener and Dialer. It guards the stack.Stack
// and everything reached through it, the Stack's tables of open Conns and
// Listeners, its timer and closed flag, and the per-connection flags of
// Conn and Listener (closed, CloseRead, linger, keepalive). While holding
// it, netconn calls only into the stack, and the stack calls out only to:
// a link's WritePacket, which must not deliver on the caller's goroutine
// (link.Pipe and link.Faulty do not); netconn's own Notifiers, which only
// poke channels of capacity 1 without blocking; and the stack.Config's
// Observer and a link.Faulty's Drop function, which must not call into
// netconn. Nothing waits while holding it. Per-direction deadlines have
// their own mutex, never taken together with the Stack's.
//
// After every call into the stack, the timer is re-armed for the stack's
// next deadline (stack.Stack.NextDeadline), and fires stack.Stack.Tick.
// The stack is given the wall time at New plus the monotonic time since,
// so stepping the wall clock does not disturb its timers.
//
// The stack notifies a connection of what segments and timers do to it
// (data, room, a new state); what a connection's own calls change
// (CloseWrite, CloseRead, Close) wakes its blocked Reads and Writes
// directly. One Read and one Write run at a time per Conn, as with
// *net.TCPConn; concurrent callers queue, still subject to deadlines and
// Close.
//
// # Errors
//
// As package net's, never flattened to strings, so errors.Is works as with
// the kernel's sockets:
//
//   - Read returns io.EOF, unwrapped, after the peer's FIN and every byte
//     before it;
//   - other errors are *net.OpError{Op, Net, Source, Addr, Err}, with Op
//     "dial", "listen", "accept", "read", "write", "close" or "set", and
//     Err one of syscall.ECONNREFUSED (RST answering our SYN),
//     syscall.ECONNRESET (RST on an established connection),
//     syscall.ETIMEDOUT (SYN, data or keepalive retransmissions
//     exhausted, or the user timeout), syscall.EPIPE (Write after
//     CloseWrite or once closing), os.ErrDeadlineExceeded (a deadline;
//     Timeout() is true), net.ErrClosed (after Close of the Conn,
//     Listener or Stack), the context's error (DialContext), or the
//     stack's EADDRINUSE, EADDRNOTAVAIL, ENETUNREACH, and *net.AddrError
//     or net.UnknownNetworkError for bad arguments.
//
// Unlike the kernel, netconn puts the errno itself in OpError.Err, without
// an *os.SyscallError around it; errors.Is and errors.As see the same.
//
// # Closing
//
// Conn.Close releases the connection as close(2) does: the stack goes on
// sending the queued data and a FIN in the background, or resets the
// connection (RST) if received data was never read, or after SetLinger(0).
// Stack.Close is a process exit: every connection is released that way
// and every listener closed, then the timer stops and the links are
// closed at once, so nothing retransmits a lost FIN afterwards; see
// Stack.Close.
//
// # Not implemented
//
// Name resolution; a per-family wildcard listener (":80" with "tcp4"
// also accepts IPv6); SetLinger with sec > 0 blocking Close (it behaves
// as sec < 0, which Go documents as allowed); ReadFrom and SyscallConn
// of *net.TCPConn; MultipathTCP.
package netconn
