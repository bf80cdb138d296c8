// Package pcap writes packets to a classic libpcap capture file that
// tcpdump, tshark and Wireshark open, and offers a tap that records every
// packet crossing a link.Endpoint in both directions.
//
// Packets are raw IP with no link-layer header, so files use LINKTYPE_RAW
// (101), which decodes IPv4 and IPv6 alike. Timestamps come from a
// link.Clock, so a capture of a simulated run carries its virtual time.
package pcap
