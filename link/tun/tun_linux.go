package tun

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/synack/synack/internal/copies"
	"github.com/synack/synack/link"
)

// maxPacket is the largest IP packet (an IPv6 jumbogram aside); the read
// buffer holds one whatever the MTU becomes.
const maxPacket = 65535

// Device is an open TUN device; it implements link.Endpoint. Its methods
// may be called concurrently.
type Device struct {
	f    *os.File // non-blocking, in the runtime's poller: Close unblocks Read
	name string
	mtu  atomic.Int32

	recv   atomic.Pointer[receiverBox]
	closed atomic.Bool

	mu      sync.Mutex // guards ctl, started, and orders Attach with Close
	ctl     int        // a datagram socket in the device's namespace, for MTU ioctls; -1 when closed
	started bool       // the reader goroutine runs
	done    chan struct{}

	errMu sync.Mutex
	err   error // why the reader stopped, other than Close

	// With Options.Offload: every packet has a virtio-net header in front
	// (vnet), and the kernel took checksum and TSO offload (offload).
	vnet, offload bool
	rc            syscall.RawConn
	wmu           sync.Mutex // guards whdr, wiov and werr, for writev
	whdr          [vnetHdrLen]byte
	wiov          [2][]byte
	werr          error
	writeFn       func(fd uintptr) bool // the writev, made once: a closure per write would be an allocation
	riov          [2][]byte             // the reader's readv
	rn            int
	rerr          error
	readFn        func(fd uintptr) bool
	malformed     atomic.Uint64 // packets read that could not be taken
	free          chan []byte   // packet buffers receivers handed back
	releaseFn     func([]byte)  // d.release, made once
	gsoIn, gsoOut atomic.Uint64 // super-segments read and written
	reads         atomic.Uint64 // packets read
}

// Stats returns the device's counters.
func (d *Device) Stats() Stats {
	return Stats{Reads: d.reads.Load(), GSOIn: d.gsoIn.Load(), GSOOut: d.gsoOut.Load(), Malformed: d.malformed.Load()}
}

// TUN offload flags (linux/if_tun.h).
const (
	tunFCsum = 0x01
	tunFTSO4 = 0x02
	tunFTSO6 = 0x04
)

// gsoMax is the largest packet written with offload: an IP packet's
// length field bounds it.
const gsoMax = 65535

type receiverBox struct{ r link.Receiver }

// Open attaches to the TUN device name, creating it if absent, with
// IFF_TUN | IFF_NO_PI, in the calling thread's network namespace. An empty
// name lets the kernel choose one (tun0, tun1, ...); see Name. Errors
// wrap the system's errno, so errors.Is(err, os.ErrPermission) tells a
// missing CAP_NET_ADMIN.
func Open(name string) (*Device, error) { return OpenWith(name, Options{}) }

// OpenQueues opens n queues of one multi-queue TUN device
// (IFF_MULTI_QUEUE), creating it if absent: each queue is a Device of its
// own, and the kernel spreads what it sends over them, by flow (and by the
// queue a flow's packets were last written on). n = 1 is OpenWith. Closing
// every queue releases the device.
func OpenQueues(name string, n int, o Options) ([]*Device, error) {
	if n <= 1 {
		d, err := OpenWith(name, o)
		if err != nil {
			return nil, err
		}
		return []*Device{d}, nil
	}
	o.multiQueue = true
	qs := make([]*Device, 0, n)
	for range n {
		d, err := OpenWith(name, o)
		if err != nil {
			for _, q := range qs {
				q.Close()
			}
			return nil, fmt.Errorf("tun: queue %d of %d: %w", len(qs)+1, n, err)
		}
		name = d.Name() // the kernel's choice, for the next queues
		qs = append(qs, d)
	}
	return qs, nil
}

// OpenWith is Open with options.
func OpenWith(name string, o Options) (*Device, error) {
	if len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tun: interface name %q is longer than %d bytes", name, unix.IFNAMSIZ-1)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		hint := ""
		switch {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
			hint = " (no TUN support: is the tun module loaded?)"
		case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
			hint = " (needs root or CAP_NET_ADMIN)"
		}
		return nil, fmt.Errorf("tun: open /dev/net/tun: %w%s", err, hint)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: interface name %q: %w", name, err)
	}
	flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if o.multiQueue {
		flags |= unix.IFF_MULTI_QUEUE
	}
	if o.Offload {
		flags |= unix.IFF_VNET_HDR
	}
	ifr.SetUint16(flags)
	err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	if err != nil && o.Offload && errors.Is(err, unix.EINVAL) {
		// A kernel without IFF_VNET_HDR: no offload, as without it.
		o.Offload = false
		ifr.SetUint16(flags &^ unix.IFF_VNET_HDR)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err != nil {
		unix.Close(fd)
		shown := name
		if shown == "" {
			shown = "a new device"
		}
		hint := ""
		switch {
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
			hint = " (creating or attaching a TUN device needs root or CAP_NET_ADMIN)"
		case errors.Is(err, unix.EBUSY):
			hint = " (another process has the device open)"
		case errors.Is(err, unix.EINVAL):
			hint = " (an interface of that name exists and is not a TUN device)"
		}
		return nil, fmt.Errorf("tun: attach %s: %w%s", shown, err, hint)
	}
	name = ifr.Name()
	vnet, offload := o.Offload, false
	if vnet {
		if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, vnetHdrLen); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("tun: %s: set the virtio-net header size: %w", name, err)
		}
		// Refused (an old kernel, a restricted one): the header stays,
		// zero on writes, and the kernel sends nothing that needs it.
		offload = unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunFCsum|tunFTSO4|tunFTSO6) == nil
	} else {
		// A persistent device may keep the offloads an earlier user
		// turned on, and would then hand a reader without the header
		// segments it cannot cut: turn them off (best effort).
		_ = unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, 0)
	}

	// The control socket is made now, in the device's namespace, so that
	// SetMTU works from any thread later.
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		ctl, err = unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: control socket: %w", err)
	}
	mtu, err := getMTU(ctl, name)
	if err != nil {
		unix.Close(fd)
		unix.Close(ctl)
		return nil, fmt.Errorf("tun: %s: read MTU: %w", name, err)
	}

	// The fd is non-blocking, so os.NewFile puts it in the runtime's
	// poller: reads park the goroutine, and Close wakes them.
	d := &Device{
		f:       os.NewFile(uintptr(fd), "/dev/net/tun:"+name),
		name:    name,
		ctl:     ctl,
		done:    make(chan struct{}),
		vnet:    vnet,
		offload: offload,
	}
	d.free = make(chan []byte, 8)
	d.releaseFn = d.release
	d.writeFn = func(fd uintptr) bool {
		_, d.werr = unix.Writev(int(fd), d.wiov[:])
		return d.werr != unix.EAGAIN
	}
	d.readFn = func(fd uintptr) bool {
		d.rn, d.rerr = unix.Readv(int(fd), d.riov[:])
		return d.rerr != unix.EAGAIN
	}
	if d.rc, err = d.f.SyscallConn(); err != nil {
		d.f.Close()
		unix.Close(ctl)
		return nil, fmt.Errorf("tun: %s: %w", name, err)
	}
	d.mtu.Store(int32(mtu))
	return d, nil
}

func getMTU(ctl int, name string) (int, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(ctl, unix.SIOCGIFMTU, ifr); err != nil {
		return 0, err
	}
	return int(ifr.Uint32()), nil
}

// Name returns the interface's name.
func (d *Device) Name() string { return d.name }

// MTU returns the device's MTU as it was at Open or last set by SetMTU.
func (d *Device) MTU() int { return int(d.mtu.Load()) }

// SetMTU sets the interface's MTU (SIOCSIFMTU), as `ip link set NAME mtu N`
// does. A stack reads the MTU when the link is added to it, so set it
// before.
func (d *Device) SetMTU(mtu int) error {
	if mtu < 68 || mtu > maxPacket {
		return fmt.Errorf("tun: %s: MTU %d out of range 68..%d", d.name, mtu, maxPacket)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctl < 0 {
		return net.ErrClosed
	}
	ifr, err := unix.NewIfreq(d.name)
	if err != nil {
		return err
	}
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(d.ctl, unix.SIOCSIFMTU, ifr); err != nil {
		return fmt.Errorf("tun: %s: set MTU %d: %w", d.name, mtu, err)
	}
	d.mtu.Store(int32(mtu))
	return nil
}

// WritePacket sends one IP packet to the kernel. It does not block: the
// kernel takes the packet or drops it. It returns net.ErrClosed after
// Close, and the kernel's error otherwise (EIO while the link is down,
// EINVAL for a packet it cannot take).
func (d *Device) WritePacket(pkt []byte) error {
	if d.closed.Load() {
		return net.ErrClosed
	}
	if d.vnet {
		// A zero header: nothing to offload, the checksum is complete.
		return d.writeVnet(pkt, vnetHdr{})
	}
	_, err := d.f.Write(pkt)
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			return net.ErrClosed
		}
		return fmt.Errorf("tun: %s: write: %w", d.name, err)
	}
	return nil
}

// Offload reports whether the kernel took checksum and TSO offload.
func (d *Device) Offload() bool { return d.offload }

// GSOMax is the largest packet WriteOffload takes (link.Offloader): 65535
// with offload, 0 without.
func (d *Device) GSOMax() int {
	if d.offload {
		return gsoMax
	}
	return 0
}

// WriteOffload writes a TCP packet whose checksum field holds only the
// pseudo-header's sum (wire.AppendPacketPartial), for the kernel to
// complete (NEEDS_CSUM); with gsoSize > 0 the kernel cuts it into
// segments of gsoSize payload bytes (GSO TCPV4 or TCPV6), or delivers it
// whole to a local socket. Without offload it fails.
func (d *Device) WriteOffload(pkt []byte, gsoSize int) error {
	if d.closed.Load() {
		return net.ErrClosed
	}
	iphl, thl, ok := tcpHeaders(pkt)
	if !d.offload || !ok || len(pkt) > gsoMax {
		return fmt.Errorf("tun: %s: WriteOffload: %w", d.name, errVnetMalformed)
	}
	h := vnetHdr{flags: vnetNeedsCsum, csumStart: uint16(iphl), csumOffset: 16}
	if gsoSize > 0 && len(pkt)-iphl-thl > gsoSize {
		h.gsoType, h.gsoSize, h.hdrLen = gsoTCPv4, uint16(gsoSize), uint16(iphl+thl)
		if pkt[0]>>4 == 6 {
			h.gsoType = gsoTCPv6
		}
		d.gsoOut.Add(1)
	}
	return d.writeVnet(pkt, h)
}

// writeVnet writes the header and the packet in one writev, sparing a
// copy of the packet.
func (d *Device) writeVnet(pkt []byte, h vnetHdr) error {
	d.wmu.Lock()
	h.encode(d.whdr[:])
	d.wiov[0], d.wiov[1] = d.whdr[:], pkt
	err := d.rc.Write(d.writeFn)
	if err == nil {
		err = d.werr
	}
	d.wiov[1] = nil
	d.wmu.Unlock()
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			return net.ErrClosed
		}
		return fmt.Errorf("tun: %s: write: %w", d.name, err)
	}
	return nil
}

// Attach sets the receiver of arriving packets and, the first time, starts
// the goroutine that reads them. r is called on that goroutine, one packet
// at a time; the packet is valid only during the call. Attach(nil)
// detaches: packets read meanwhile are dropped.
func (d *Device) Attach(r link.Receiver) {
	if r == nil {
		d.recv.Store(nil)
	} else {
		d.recv.Store(&receiverBox{r})
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if r != nil && !d.started && !d.closed.Load() {
		d.started = true
		go d.readLoop()
	}
}

// readBuf returns a packet buffer: one a receiver handed back, or a new one.
func (d *Device) readBuf() []byte {
	select {
	case b := <-d.free:
		return b
	default:
		return make([]byte, maxPacket)
	}
}

// release takes back a buffer a receiver kept (link.OwningReceiver).
func (d *Device) release(b []byte) {
	select {
	case d.free <- b[:cap(b)]:
	default: // enough in hand: the collector has it
	}
}

// read reads one packet into pkt, its virtio-net header, if any, into hdr.
func (d *Device) read(hdr, pkt []byte) (int, error) {
	if !d.vnet {
		return d.f.Read(pkt)
	}
	// Header and packet in buffers of their own, so that the packet's
	// buffer can be handed on whole. The reader goroutine alone uses riov,
	// rn, rerr and readFn.
	d.riov[0], d.riov[1] = hdr, pkt
	err := d.rc.Read(d.readFn)
	if err == nil {
		err = d.rerr
	}
	n := d.rn
	d.riov[1] = nil
	if err == nil && n == 0 {
		err = io.EOF
	}
	return n, err
}

func (d *Device) readLoop() {
	defer close(d.done)
	var hdr [vnetHdrLen]byte
	buf := d.readBuf()
	var (
		segBuf []byte   // the segments a GSO packet is cut into
		segs   [][]byte // views of them
		one    [1][]byte
	)
	for {
		n, err := d.read(hdr[:], buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) || d.closed.Load() {
				return
			}
			if errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN) {
				continue
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			// EBADFD: the interface was deleted under us. Nothing more
			// will come; keep the reason for Err.
			d.errMu.Lock()
			d.err = fmt.Errorf("tun: %s: read: %w", d.name, err)
			d.errMu.Unlock()
			return
		}
		copies.Add(copies.LinkIn, n)
		d.reads.Add(1)
		b := d.recv.Load()
		if b == nil {
			continue
		}
		owner, owns := b.r.(link.OwningReceiver)
		if !d.vnet {
			if owns {
				if owner.DeliverOwned(buf[:n], false, d.releaseFn) {
					buf = d.readBuf()
				}
				continue
			}
			one[0] = buf[:n]
			link.DeliverAll(b.r, one[:], false)
			continue
		}
		if n < vnetHdrLen {
			d.malformed.Add(1)
			continue
		}
		var h vnetHdr
		h.decode(hdr[:])
		n -= vnetHdrLen
		pkt := buf[:n]
		br, batch := b.r.(link.BatchReceiver)
		// The kernel vouches for the checksum: it checked it
		// (DATA_VALID), or the packet is its own and it would compute it
		// only on the way out (NEEDS_CSUM, as CHECKSUM_PARTIAL).
		trusted := h.flags&(vnetNeedsCsum|vnetDataValid) != 0
		if h.gsoType != gsoNone {
			d.gsoIn.Add(1)
		}
		switch {
		case owns && (h.gsoType == gsoNone || trusted):
			// A stack that takes batches takes a coalesced segment
			// whole, and skips the checksum the kernel vouches for; if
			// it cannot take it now, it keeps the buffer.
			if owner.DeliverOwned(pkt, trusted, d.releaseFn) {
				buf = d.readBuf()
			}
		case batch && (h.gsoType == gsoNone || trusted):
			one[0] = pkt
			br.DeliverBatch(one[:], trusted)
		case h.gsoType != gsoNone:
			var err error
			segs, segBuf, err = segment(pkt, &h, segBuf, segs[:0])
			if err != nil {
				d.malformed.Add(1)
				continue
			}
			copies.Add(copies.Split, len(segBuf))
			link.DeliverAll(b.r, segs, false)
			clear(segs)
		default:
			if h.flags&vnetNeedsCsum != 0 && completeChecksum(pkt, &h) != nil {
				d.malformed.Add(1)
				continue
			}
			b.r.DeliverPacket(pkt)
		}
	}
}

// Err returns why the reader stopped before Close (the interface was
// deleted, say), or nil.
func (d *Device) Err() error {
	d.errMu.Lock()
	defer d.errMu.Unlock()
	return d.err
}

// Close releases the device (a device Open created disappears), stops the
// reader and waits for it to exit, so no packet is delivered after Close
// returns. It must not be called from the receiver. Later writes return
// net.ErrClosed; a second Close returns nil.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed.Load() {
		d.mu.Unlock()
		return nil
	}
	d.closed.Store(true)
	started := d.started
	ctl := d.ctl
	d.ctl = -1
	d.mu.Unlock()

	err := d.f.Close() // wakes the reader with os.ErrClosed
	unix.Close(ctl)
	if started {
		<-d.done
	}
	d.recv.Store(nil)
	return err
}

var _ link.Endpoint = (*Device)(nil)
