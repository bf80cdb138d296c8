// Package infer reads a capture (pcap or pcapng), groups its TCP
// segments by connection, and infers what a middlebox beside the wire
// could know: both ends' RFC 9293 states, each change with the rule that
// caused it, and the marks an engineer looks for — retransmissions and
// their back-off, fast and spurious retransmissions, duplicate ACKs,
// out-of-order segments, zero windows and window probes, keepalives,
// RSTs with their likely reason, SYN retries, handshakes never
// completed, RTT per segment, TIME-WAIT seen to end.
//
// # Where the capture was taken
//
// A capture point sees a segment once: the sender's copy left before,
// the receiver's copy arrives after, by the one-way delay between the
// capture point and each end. The handshake gives both delays (the SYN to
// SYN+ACK gap is the round trip beyond the capture point towards the
// server, the SYN+ACK to ACK gap the one towards the client), so each end
// is replayed on its own clock: what it sent, at the capture time less
// its delay, and what it received, at the capture time plus its delay.
// The ACKs each end sends then pin down when, and whether, the other's
// segments reached it: a segment acknowledged arrived before the ACK left;
// a segment retransmitted after its ACK should have arrived was not
// acknowledged in time, so the ACK was lost beyond the capture point.
//
// What a capture cannot show stays unknown and says so: the end of a
// TIME-WAIT or a SYN-SENT that no packet closes, a state before the
// capture began.
//
// Layering: infer sits beside trace, above wire, tcp and link/pcap; it
// imports them and feeds trace's renderers the inferred events, so the
// pictures of a capture are those of a simulated run. cmd/synack calls it.
package infer
