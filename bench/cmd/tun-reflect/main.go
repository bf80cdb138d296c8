// Command tun-reflect is the floor of the TUN path: a stateless TCP echo
// that answers each segment from the kernel with one segment, with no
// connection state, no buffers, no timers and no application goroutine.
// It reads a packet with one read(2) on a blocking TUN descriptor, on a
// thread of its own, and writes the answer with one write(2). No TCP
// stack in user space can answer a segment with less work, so its rates
// in cmd/tunbench (ping-pong, connection rate) are the ceiling for every
// stack on this path, the kernel's client included in the cost.
//
//	ip netns exec NS tun-reflect --tun tun0 --addr 192.0.2.2/24 --port 5001 --app echo
//
// It answers IPv4 TCP to --addr:--port only, and only what the ping-pong
// and connection-rate clients send (at most one segment in flight each
// way): a SYN gets a SYN+ACK (ISN from the ports, MSS 1460, timestamps
// if the SYN had them, no window scale or SACK), data gets the same bytes back with the ACK, a FIN gets FIN+ACK
// (the client closes first), and a bare ACK or RST gets nothing. It does
// not retransmit: a lost segment is the kernel's to repeat. Anything else
// is counted and dropped. SIGINT or SIGTERM prints the counters on stdout
// and exits.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/synack/synack/wire"
)

var in, out, dropped atomic.Int64

func main() {
	tunName := flag.String("tun", "", "persistent TUN device to attach to (required)")
	addr := flag.String("addr", "", "the address answered, IPv4/PREFIX (required)")
	port := flag.Int("port", 0, "TCP port answered (required)")
	app := flag.String("app", "echo", "application: echo only")
	flag.Parse()
	pfx, err := netip.ParsePrefix(*addr)
	if *tunName == "" || err != nil || !pfx.Addr().Is4() || *port < 1 || *port > 65535 || *app != "echo" {
		flag.Usage()
		fmt.Fprintln(os.Stderr, "tun-reflect: --tun, --addr IPv4/PREFIX, --port are required; --app must be echo")
		os.Exit(2)
	}
	fd, err := openTUN(*tunName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tun-reflect:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Printf("InSegs %d\nOutSegs %d\nDropped %d\n", in.Load(), out.Load(), dropped.Load())
		os.Exit(0)
	}()
	slog.New(slog.NewTextHandler(os.Stderr, nil)).Info("serving", "tun", *tunName, "addr", pfx.Addr(), "port", *port)
	runtime.LockOSThread()
	loop(fd, pfx.Addr().As4(), uint16(*port))
}

// openTUN attaches to an existing TUN device, blocking, without the
// packet-information header or offloads: one packet per read.
func openTUN(name string) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var ifr [unix.IFNAMSIZ + 64]byte
	copy(ifr[:], name)
	binary.NativeEndian.PutUint16(ifr[unix.IFNAMSIZ:], unix.IFF_TUN|unix.IFF_NO_PI)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("TUNSETIFF %s: %w", name, e)
	}
	return fd, nil
}

func loop(fd int, local [4]byte, port uint16) {
	buf := make([]byte, 65536)
	reply := make([]byte, 1500)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			fmt.Fprintln(os.Stderr, "tun-reflect: read:", err)
			os.Exit(1)
		}
		in.Add(1)
		m := answer(buf[:n], reply, local, port)
		if m == 0 {
			continue
		}
		if _, err := unix.Write(fd, reply[:m]); err != nil {
			dropped.Add(1)
			continue
		}
		out.Add(1)
	}
}

const (
	fin = 0x01
	syn = 0x02
	rst = 0x04
	psh = 0x08
	ack = 0x10
)

// answer writes the reply to packet p into r and returns its length, or
// 0 for no reply.
func answer(p, r []byte, local [4]byte, port uint16) int {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != 6 {
		dropped.Add(1)
		return 0
	}
	ihl := int(p[0]&0xf) * 4
	tot := int(binary.BigEndian.Uint16(p[2:]))
	if ihl < 20 || tot > len(p) || tot < ihl+20 || [4]byte(p[16:20]) != local {
		dropped.Add(1)
		return 0
	}
	t := p[ihl:tot]
	doff := int(t[12]>>4) * 4
	if doff < 20 || doff > len(t) || binary.BigEndian.Uint16(t[2:]) != port {
		dropped.Add(1)
		return 0
	}
	flags := t[13]
	sq := binary.BigEndian.Uint32(t[4:])
	ak := binary.BigEndian.Uint32(t[8:])
	payload := t[doff:]
	sport, dport := binary.BigEndian.Uint16(t[0:]), binary.BigEndian.Uint16(t[2:])

	var rseq, rack uint32
	var rflags byte
	var data []byte
	// Timestamps (RFC 7323) when the peer sends them: the kernel client
	// reuses a TIME-WAIT port for a new connection only if they were on
	// (tcp_tw_reuse), as they are with synack, gVisor and the kernel.
	var optBuf [16]byte
	opts := optBuf[:0]
	tsVal, hasTS := timestamp(t[20:doff])
	if flags&syn != 0 {
		opts = append(opts, 2, 4, 0x05, 0xb4) // MSS 1460
	}
	if hasTS {
		clock++ // ours only grows: PAWS (RFC 7323 §5) on the kernel's side
		opts = append(opts, 1, 1, 8, 10)
		opts = binary.BigEndian.AppendUint32(opts, clock)
		opts = binary.BigEndian.AppendUint32(opts, tsVal)
	}
	switch {
	case flags&rst != 0:
		return 0
	case flags&syn != 0 && flags&ack == 0:
		// A SYN: the ISN from the ports, so a retransmitted SYN gets the
		// same SYN+ACK.
		rseq = uint32(sport)<<16 | uint32(dport)
		rack = sq + 1
		rflags = syn | ack
	case len(payload) > 0 || flags&fin != 0:
		rseq, rack = ak, sq+uint32(len(payload))
		rflags = ack
		if len(payload) > 0 {
			rflags |= psh
			data = payload
		}
		if flags&fin != 0 {
			rack++
			rflags |= fin
		}
	default:
		return 0 // a bare ACK
	}
	hl := 20 + len(opts)
	n := 20 + hl + len(data)
	if n > len(r) {
		dropped.Add(1)
		return 0
	}
	// IPv4 header: the addresses swapped.
	r[0], r[1] = 0x45, 0
	binary.BigEndian.PutUint16(r[2:], uint16(n))
	binary.BigEndian.PutUint32(r[4:], 0x4000) // ID 0, DF
	r[8], r[9] = 64, 6
	r[10], r[11] = 0, 0
	copy(r[12:16], p[16:20])
	copy(r[16:20], p[12:16])
	binary.BigEndian.PutUint16(r[10:], ^wire.Checksum(r[:20], 0))
	// TCP header.
	u := r[20:n]
	binary.BigEndian.PutUint16(u[0:], dport)
	binary.BigEndian.PutUint16(u[2:], sport)
	binary.BigEndian.PutUint32(u[4:], rseq)
	binary.BigEndian.PutUint32(u[8:], rack)
	u[12], u[13] = byte(hl/4)<<4, rflags
	binary.BigEndian.PutUint16(u[14:], 65535)
	u[16], u[17], u[18], u[19] = 0, 0, 0, 0
	copy(u[20:], opts)
	copy(u[hl:], data)
	// The pseudo-header (RFC 9293 §3.1): the addresses, protocol, length.
	ps := uint32(wire.Checksum(r[12:20], 0)) + 6 + uint32(len(u))
	binary.BigEndian.PutUint16(u[16:], ^wire.Checksum(u, ps))
	return n
}

// clock is the TSval sent.
var clock uint32

// timestamp finds the TSval of a TCP option list.
func timestamp(o []byte) (uint32, bool) {
	for len(o) > 0 {
		switch o[0] {
		case 0:
			return 0, false
		case 1:
			o = o[1:]
			continue
		}
		if len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o) {
			return 0, false
		}
		if o[0] == 8 && o[1] == 10 {
			return binary.BigEndian.Uint32(o[2:]), true
		}
		o = o[o[1]:]
	}
	return 0, false
}
