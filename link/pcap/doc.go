// Package pcap writes packets to a classic libpcap capture file that
// tcpdump, tshark and Wireshark open, offers a tap that records every
// packet crossing a link.Endpoint in both directions, and reads captures
// back: pcap in either byte order with microsecond or nanosecond
// timestamps, and pcapng (section, interface, enhanced and simple packet
// blocks, several interfaces and sections).
//
// Packets written are raw IP with no link-layer header, so files use
// LINKTYPE_RAW (101), which decodes IPv4 and IPv6 alike. Timestamps come
// from a link.Clock, so a capture of a simulated run carries its virtual
// time. IPPayload strips the link-layer headers a reader meets: Ethernet
// with 802.1Q/802.1ad tags, raw IP (101, 228, 229) and Linux cooked
// captures v1 (113) and v2 (276).
package pcap
