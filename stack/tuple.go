package stack

import (
	"net/netip"
)

// tuple identifies a connection: 36 bytes, comparable, no pointers, so that
// tables of many entries stay small and cost the garbage collector nothing.
// IPv4 addresses are stored v4-mapped.
type tuple struct {
	laddr, raddr [16]byte
	lport, rport uint16
}

func makeTuple(l, r netip.AddrPort) tuple {
	return tuple{laddr: l.Addr().As16(), raddr: r.Addr().As16(), lport: l.Port(), rport: r.Port()}
}

func addrOf(b [16]byte) netip.Addr { return netip.AddrFrom16(b).Unmap() }

// Local returns the local address and port.
func (t tuple) Local() netip.AddrPort { return netip.AddrPortFrom(addrOf(t.laddr), t.lport) }

// Remote returns the remote address and port.
func (t tuple) Remote() netip.AddrPort { return netip.AddrPortFrom(addrOf(t.raddr), t.rport) }

func (t tuple) String() string { return t.Local().String() + "→" + t.Remote().String() }

// ID names a connection by its 4-tuple.
type ID struct {
	Local, Remote netip.AddrPort
}

func (t tuple) id() ID { return ID{t.Local(), t.Remote()} }

func (id ID) String() string {
	if !id.Remote.IsValid() {
		return id.Local.String() // a listener
	}
	return id.Local.String() + "→" + id.Remote.String()
}
