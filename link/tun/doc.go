// Package tun is a link.Endpoint on a Linux TUN device: raw IPv4 and IPv6
// packets, no link-layer header (IFF_TUN | IFF_NO_PI).
//
// Open attaches to the named device, creating it if it does not exist (a
// device created this way disappears when it is closed; one made with
// `ip tuntap add` persists). The device lives in the network namespace of
// the thread that calls Open, and its kernel side — addresses, routes,
// link up — is configured by whoever created it, as with any TUN program:
//
//	ip netns add demo
//	ip -n demo tuntap add dev tun0 mode tun
//	ip -n demo addr add 192.0.2.1/24 dev tun0
//	ip -n demo link set tun0 up
//	ip netns exec demo synack serve --tun tun0 --addr 192.0.2.2/24 --port 80 --app http &
//	ip netns exec demo curl http://192.0.2.2/
//
// Opening a TUN device needs CAP_NET_ADMIN (or a persistent device owned by
// the user). Only Linux is supported; elsewhere Open returns an error.
package tun
