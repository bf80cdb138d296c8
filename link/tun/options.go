package tun

// Options are the ways to open a device.
type Options struct {
	// Offload opens the device with a virtio-net header (IFF_VNET_HDR)
	// and asks the kernel for checksum and TCP segmentation offload
	// (TUNSETOFFLOAD: TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6). The kernel then
	// hands over coalesced TCP segments of up to 64 KB with checksums it
	// vouches for, and takes segments of up to 64 KB that it cuts itself
	// (or delivers whole to a local socket), with checksums left partial.
	// Where the kernel refuses, the device works as without; Offload
	// reports what was granted.
	Offload bool

	multiQueue bool // IFF_MULTI_QUEUE: set by OpenQueues
}

// Stats counts a device's offloaded traffic.
type Stats struct {
	Reads     uint64 // packets read from the kernel (a coalesced segment is one)
	GSOIn     uint64 // coalesced segments the kernel handed over
	GSOOut    uint64 // super-segments written for the kernel to cut
	Malformed uint64 // packets read that were dropped as malformed
}
