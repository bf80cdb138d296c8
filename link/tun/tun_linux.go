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
}

type receiverBox struct{ r link.Receiver }

// Open attaches to the TUN device name, creating it if absent, with
// IFF_TUN | IFF_NO_PI, in the calling thread's network namespace. An empty
// name lets the kernel choose one (tun0, tun1, ...); see Name. Errors
// wrap the system's errno, so errors.Is(err, os.ErrPermission) tells a
// missing CAP_NET_ADMIN.
func Open(name string) (*Device, error) {
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
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
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
		f:    os.NewFile(uintptr(fd), "/dev/net/tun:"+name),
		name: name,
		ctl:  ctl,
		done: make(chan struct{}),
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
	_, err := d.f.Write(pkt)
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

func (d *Device) readLoop() {
	defer close(d.done)
	buf := make([]byte, maxPacket)
	for {
		n, err := d.f.Read(buf)
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
		if b := d.recv.Load(); b != nil {
			b.r.DeliverPacket(buf[:n])
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
