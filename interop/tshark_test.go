package interop_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/synack/synack/infer"
	"github.com/synack/synack/internal/tsharktest"
	"github.com/synack/synack/interop"
	"github.com/synack/synack/link"
	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// synack draw's marks against tshark's tcp.analysis flags on the same
// captures: connections between two Linux kernels in namespaces (bulk,
// half-close, RST, refused, SYN retries to a port whose answers are
// blackholed), and between the kernel and synack over TUN with synack's
// link faults (loss, reordering, duplication, a zero window, keepalive).
// Per flag, over the packets either flags, the share both flag must be
// at least 95%.
//
// The mapping, where the definitions differ: tshark flags a fast or a
// spurious retransmission as a retransmission too, so synack's three
// kinds (retransmission, fast-retransmission, spurious-retransmission)
// together are compared with tcp.analysis.retransmission; each of the two
// is compared on its own as well.
func TestDrawAgreesWithTshark(t *testing.T) {
	interop.RequireCommand(t, "tshark", "tshark")
	dir := t.TempDir()
	if keep := os.Getenv("SYNACK_CAPTURES"); keep != "" {
		dir = keep // kept for a person to open
	}
	var files []string
	t.Run("kernels", func(t *testing.T) { files = append(files, kernelCaptures(t, dir)...) })
	t.Run("synack", func(t *testing.T) { files = append(files, synackCaptures(t, dir)...) })
	if t.Failed() {
		return
	}
	flags := []struct {
		name   string
		tshark []string
		ours   []string
	}{
		{"retransmission", []string{"tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission"},
			[]string{infer.MarkRetransmission, infer.MarkFastRetransmit, infer.MarkSpurious}},
		{"fast retransmission", []string{"tcp.analysis.fast_retransmission"}, []string{infer.MarkFastRetransmit}},
		{"spurious retransmission", []string{"tcp.analysis.spurious_retransmission"}, []string{infer.MarkSpurious}},
		{"duplicate ACK", []string{"tcp.analysis.duplicate_ack"}, []string{infer.MarkDupAck}},
		{"out of order", []string{"tcp.analysis.out_of_order"}, []string{infer.MarkOutOfOrder}},
		{"zero window", []string{"tcp.analysis.zero_window"}, []string{infer.MarkZeroWindow}},
		{"zero-window probe", []string{"tcp.analysis.zero_window_probe"}, []string{infer.MarkWindowProbe}},
		{"keep-alive", []string{"tcp.analysis.keep_alive"}, []string{infer.MarkKeepalive}},
	}
	var fields []string
	for _, f := range flags {
		fields = append(fields, f.tshark...)
	}
	type tally struct{ both, tsharkOnly, oursOnly int }
	total := make([]tally, len(flags))
	for _, file := range files {
		pkts := tsharktest.Decode(t, file, append([]string{"frame.number"}, fields...)...)
		in, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		c, err := infer.Read(in)
		in.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		ours := map[int]*infer.Seg{}
		for _, s := range c.Segs {
			ours[s.Frame] = s
		}
		for i, f := range flags {
			var tOnly, oOnly []string
			for _, p := range pkts {
				n, _ := strconv.Atoi(p["frame.number"])
				ts := false
				for _, k := range f.tshark {
					ts = ts || p[k] != ""
				}
				os := false
				if s := ours[n]; s != nil {
					for _, k := range f.ours {
						os = os || s.Has(k)
					}
				}
				switch {
				case ts && os:
					total[i].both++
				case ts:
					total[i].tsharkOnly++
					tOnly = append(tOnly, strconv.Itoa(n))
				case os:
					total[i].oursOnly++
					oOnly = append(oOnly, strconv.Itoa(n))
				}
			}
			if len(tOnly)+len(oOnly) > 0 {
				t.Logf("%s: %s: tshark only frames %v; synack only frames %v", filepath.Base(file), f.name, head(tOnly), head(oOnly))
			}
		}
	}
	for i, f := range flags {
		x := total[i]
		all := x.both + x.tsharkOnly + x.oursOnly
		if all == 0 {
			if f.name == "zero-window probe" {
				// tshark's form, one byte at SND.NXT into a closed
				// window: Linux probes with SND.UNA - 1 (a keepalive
				// to tshark and to synack draw), synack with the
				// next segment (a retransmission to both).
				t.Logf("%-24s neither flags a packet: neither stack sends tshark's form", f.name)
				continue
			}
			t.Errorf("%s: no packet flagged in any capture: the comparison checks nothing", f.name)
			continue
		}
		share := float64(x.both) / float64(all)
		t.Logf("%-24s %5.1f%% agree: %d both, %d tshark only, %d synack only", f.name, 100*share, x.both, x.tsharkOnly, x.oursOnly)
		if share < 0.95 {
			t.Errorf("%s: %.1f%% agreement, want ≥ 95%%", f.name, 100*share)
		}
	}
}

func head(s []string) []string {
	if len(s) > 12 {
		return append(s[:12:12], fmt.Sprintf("… %d more", len(s)-12))
	}
	return s
}

// Two kernels: namespace c (198.51.100.1) and s (198.51.100.2) over a
// veth pair, captured on c's end by a packet socket, the way tcpdump on c
// would see it.
const (
	vethClient  = "198.51.100.1"
	vethServer  = "198.51.100.2"
	vethNoReply = "198.51.100.3" // a second address of c, to which s's route is a blackhole
)

func kernelCaptures(t *testing.T, dir string) []string {
	c, s := interop.NewNetns(t), interop.NewNetns(t)
	c.IP(t, "link", "add", "vc", "type", "veth", "peer", "name", "vs", "netns", s.Name)
	c.IP(t, "addr", "add", vethClient+"/24", "dev", "vc")
	c.IP(t, "addr", "add", vethNoReply+"/24", "dev", "vc")
	c.IP(t, "link", "set", "vc", "up")
	s.IP(t, "addr", "add", vethServer+"/24", "dev", "vs")
	s.IP(t, "link", "set", "vs", "up")
	// s's answers to the second address go nowhere: its SYNs are retried.
	s.IP(t, "route", "add", "blackhole", vethNoReply+"/32")
	c.Sysctl(t, "net.ipv4.tcp_syn_retries", "2")

	ln := listenIn(t, s, vethServer)
	port := ln.Addr().(*net.TCPAddr).Port
	// The server reads to the client's FIN; a short request (the
	// half-close) gets 200 kB back before the server's FIN.
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				if n, err := io.Copy(io.Discard, conn); err == nil && n < 1000 {
					conn.Write(make([]byte, 200000))
				}
			}()
		}
	}()

	path := filepath.Join(dir, "kernels.pcap")
	stop := packetCapture(t, c, "vc", path)
	dial := func(from string) (*net.TCPConn, error) {
		var conn net.Conn
		err := c.Do(func() (err error) {
			d := net.Dialer{Timeout: 3500 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			conn, err = d.Dial("tcp", net.JoinHostPort(vethServer, strconv.Itoa(port)))
			return err
		})
		if err != nil {
			return nil, err
		}
		return conn.(*net.TCPConn), nil
	}
	// Bulk: 4 MB one way.
	bulk, err := dial(vethClient)
	if err != nil {
		t.Fatal(err)
	}
	bulk.Write(make([]byte, 4<<20))
	bulk.Close()
	time.Sleep(200 * time.Millisecond)
	// Half-close: the client's FIN, then the server's data and FIN.
	// (The one server handles both: it reads to EOF, then writes.)
	hc, err := dial(vethClient)
	if err != nil {
		t.Fatal(err)
	}
	hc.Write([]byte("request"))
	hc.CloseWrite()
	io.Copy(io.Discard, hc)
	hc.Close()
	// RST: an abort (linger 0) with data in flight.
	rst, err := dial(vethClient)
	if err != nil {
		t.Fatal(err)
	}
	rst.Write(make([]byte, 100000))
	rst.SetLinger(0)
	rst.Close()
	// Refused: a port nobody listens on.
	err = c.Do(func() error {
		_, err := net.DialTimeout("tcp", net.JoinHostPort(vethServer, "9"), 5*time.Second)
		return err
	})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial a closed port: %v, want ECONNREFUSED", err)
	}
	// SYN retries: the server's SYN+ACKs to the second address are
	// blackholed; the client gives up after 3.5 s (two retries).
	if _, err := dial(vethNoReply); err == nil {
		t.Error("a dial whose answers are blackholed connected")
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	ln.Close()
	return []string{path}
}

// packetCapture captures dev in ns with a packet socket to a pcap file
// (raw IP), until the returned function is called.
func packetCapture(t *testing.T, ns *interop.Netns, dev, path string) func() {
	t.Helper()
	var fd int
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_ALL))
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, proto)
		if err != nil {
			return err
		}
		tv := unix.Timeval{Usec: 100000}
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		// Room for a bulk transfer's burst: a capture that drops
		// packets compares nothing worse, but says less.
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20)
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index})
	})
	if err != nil {
		t.Fatalf("packet socket on %s: %v", dev, err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcap.NewWriterNano(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var quit sync.Once
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		buf := make([]byte, 65536+14)
		for {
			select {
			case <-done:
				return
			default:
			}
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue // the timeout: look at done again
			}
			if n > 14 && (binary.BigEndian.Uint16(buf[12:]) == 0x0800 || binary.BigEndian.Uint16(buf[12:]) == 0x86dd) {
				w.WritePacket(time.Now(), buf[14:n])
			}
		}
	}()
	stop := func() {
		quit.Do(func() {
			close(done)
			<-stopped
			unix.Close(fd)
			f.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// synack over TUN with its link faults, captured on the device (what the
// kernel's side sees): a bulk transfer each way through loss,
// reordering and duplication; a kernel receiver that stops reading (zero
// window, synack's probes); an idle connection with keepalive.
func synackCaptures(t *testing.T, dir string) []string {
	var files []string
	for _, c := range []struct {
		name   string
		faults link.Faults
	}{
		{"loss", link.Faults{Loss: 0.03}},
		{"reorder", link.Faults{Reorder: 0.05, Delay: time.Millisecond}},
		{"dup", link.Faults{Dup: 0.05}},
	} {
		path := filepath.Join(dir, c.name+".pcap")
		f := c.faults
		e := newEnv(t, envOpts{faults: &f, seed: 7, pcapPath: path, queues: 1, noOffload: true})
		ln := e.kernelListen(interop.KernelV4)
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(60 * time.Second))
			go io.Copy(conn, conn) // echo: data both ways
			time.Sleep(10 * time.Second)
		}()
		sc, err := e.dial(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		withTimeout(t, 60*time.Second, c.name, func(ctx context.Context) error {
			go sc.Write(make([]byte, 1<<20))
			_, err := io.ReadFull(sc, make([]byte, 1<<20))
			return err
		})
		sc.Close()
		time.Sleep(500 * time.Millisecond)
		ln.Close()
		e.st.Close()
		files = append(files, path)
	}

	// Zero window: the kernel's application does not read; synack's
	// sender fills the window and probes it.
	{
		path := filepath.Join(dir, "zerowindow.pcap")
		e := newEnv(t, envOpts{pcapPath: path, queues: 1})
		ln := e.kernelListen(interop.KernelV4)
		accepted := make(chan net.Conn, 1)
		go func() {
			conn, err := ln.Accept()
			if err == nil {
				conn.(*net.TCPConn).SetReadBuffer(4096)
				accepted <- conn
			}
		}()
		sc, err := e.dial(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		go sc.Write(make([]byte, 4<<20))
		kc := <-accepted
		time.Sleep(4 * time.Second) // probes
		io.Copy(io.Discard, io.LimitReader(kc, 1<<20))
		kc.Close()
		sc.Close()
		ln.Close()
		time.Sleep(300 * time.Millisecond)
		e.st.Close()
		files = append(files, path)
	}

	// Zero window the other way: synack's application does not read;
	// the kernel fills synack's window and probes it (Linux's probe has
	// the keepalive's form, SND.UNA - 1).
	{
		path := filepath.Join(dir, "zerowindow-synack.pcap")
		e := newEnv(t, envOpts{cfg: stack.Config{TCP: tcp.Config{RcvBuf: 16384}}, pcapPath: path, queues: 1})
		ln := e.listen(interop.SynackV4)
		accepted := make(chan net.Conn, 1)
		go func() {
			conn, err := ln.Accept()
			if err == nil {
				accepted <- conn
			}
		}()
		kc, err := e.kernelDial(net.Dialer{}, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		go kc.Write(make([]byte, 1<<20))
		sc := <-accepted
		time.Sleep(3 * time.Second) // the kernel's probes
		sc.Close()
		kc.Close()
		time.Sleep(300 * time.Millisecond)
		e.st.Close()
		files = append(files, path)
	}

	// Keepalive: an idle connection, synack probing every 500 ms.
	{
		path := filepath.Join(dir, "keepalive.pcap")
		cfg := stack.Config{TCP: tcp.Config{KeepAlive: true, KeepIdle: time.Second, KeepInterval: 500 * time.Millisecond, KeepCount: 9}}
		e := newEnv(t, envOpts{cfg: cfg, pcapPath: path, queues: 1})
		ln := e.kernelListen(interop.KernelV4)
		go func() {
			conn, err := ln.Accept()
			if err == nil {
				io.Copy(io.Discard, conn)
				conn.Close()
			}
		}()
		sc, err := e.dial(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sc.Write([]byte("hello"))
		time.Sleep(3500 * time.Millisecond)
		sc.Close()
		ln.Close()
		time.Sleep(300 * time.Millisecond)
		e.st.Close()
		files = append(files, path)
	}
	sort.Strings(files)
	return files
}
