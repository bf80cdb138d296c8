//go:build !linux

package tun

import (
	"errors"
	"net"

	"github.com/synack/synack/link"
)

var errUnsupported = errors.New("tun: TUN devices are supported on Linux only")

// Device is a TUN device; on this system Open always fails.
type Device struct{}

// Open fails: TUN devices are supported on Linux only.
func Open(name string) (*Device, error) { return nil, errUnsupported }

// OpenWith fails: TUN devices are supported on Linux only.
func OpenWith(name string, o Options) (*Device, error) { return nil, errUnsupported }

// Offload reports false.
func (d *Device) Offload() bool { return false }

// GSOMax returns 0.
func (d *Device) GSOMax() int { return 0 }

// WriteOffload fails.
func (d *Device) WriteOffload(pkt []byte, gsoSize int) error { return net.ErrClosed }

// Stats returns zeros.
func (d *Device) Stats() Stats { return Stats{} }

// Name returns "".
func (d *Device) Name() string { return "" }

// MTU returns 0.
func (d *Device) MTU() int { return 0 }

// SetMTU fails.
func (d *Device) SetMTU(mtu int) error { return errUnsupported }

// WritePacket fails.
func (d *Device) WritePacket(pkt []byte) error { return net.ErrClosed }

// Attach does nothing.
func (d *Device) Attach(r link.Receiver) {}

// Err returns nil.
func (d *Device) Err() error { return nil }

// Close does nothing.
func (d *Device) Close() error { return nil }

var _ link.Endpoint = (*Device)(nil)

// OpenQueues fails: TUN devices are supported on Linux only.
func OpenQueues(name string, n int, o Options) ([]*Device, error) { return nil, errUnsupported }
