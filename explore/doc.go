// Package explore is synack's deterministic simulation testing: it runs the
// real stack in package sim against every fault schedule of the first K
// segments of a connection's opening and closing (exhaustive mode), and
// against seeded random workloads on random faulty networks (random mode),
// and checks invariants on every run.
//
// # Exhaustive mode
//
// A Case is a small world — hosts A (192.0.2.1) and B (192.0.2.2) on a
// 10 ms link, and what their applications do: open, write, half-close,
// close, abort. A Schedule gives each of the first K segments put on the
// wire one of four fates: deliver, drop, duplicate (two copies back to
// back), or delay past the next segment (held back, then delivered right
// after the next segment sent). Later segments are delivered. Exhaustive
// runs all 4^K schedules of a case, each to quiescence (nothing scheduled,
// no timer armed). The stacks run with keepalive on and with retry limits
// and a TIME-WAIT far beyond what K faults can exhaust, so that in a case
// where both applications close normally every schedule must end in a
// normal close.
//
// The seven cases of opening and closing are handshake, fourway, threeway,
// simopen, simclose, halfclose and abort (Case.Core); targeted cases add an
// off-path attacker (attack), faults on one side's segments only (lastack,
// halfclose-acks), loss recovery (sack: ten segments with SACK, RACK-TLP
// and CUBIC; reno: the same with SACK off and NewReno; tail: three
// segments, a lost tail probed and backed off), and reproduce known bugs of
// the stack (Case.Known).
//
// # Random mode
//
// Each seed draws a workload: at least two connections moving 64 KiB each
// way, more of random sizes, reconnections on one 4-tuple, a simultaneous
// open now and then, closes by either side or both, aborts and process
// exits; and at least one fault: loss up to 30%, duplication, reordering,
// jitter, partitions, a host crash and restart, a listener restart, an
// attacker forging RSTs, SYNs and data in and out of the window, a forged
// handshake.
//
// # Invariants
//
// Every run is checked (invariants.go):
//   - each byte stream is delivered exactly once, in order, without gaps and
//     uncorrupted (every stream is a pattern keyed by its 4-tuple and ISN,
//     checked at the offset of each read; never more read than written), or
//     the receiving application is told of the failure (ECONNRESET,
//     ETIMEDOUT, ECONNREFUSED); no data is read after end-of-file;
//   - no byte the peer has SACKed is sent again, except after a
//     retransmission timeout, which RFC 2018 §8 and RFC 6675 §5.1 let the
//     sender take as a sign of reneging (each end's view of its peer's SACK
//     blocks is rebuilt from the ACKs its stack accepted, and cleared by its
//     RTO retransmission);
//   - every connection's congestion window stays at or above one SMSS, the
//     loss window (RFC 5681 §3.1, RFC 9438 §4.8), and ssthresh at or above
//     two (RFC 5681 eq. 4), checked after every event;
//   - after quiescence every connection is CLOSED (or LISTEN), the stacks
//     hold no connection, half-open or TIME-WAIT record, and no timer;
//   - every state change is a row of tcp.Transitions, from the state the
//     connection was last traced in;
//   - when both applications close normally (and, in random mode, nothing
//     is lost and nothing crashes), both read everything and a clean EOF and
//     no connection ends with an error; with nothing lost, no RST is sent
//     except in answer to a segment arriving after its connection is gone,
//     which duplication and reordering cause;
//   - a forged segment never resets a connection (except a RST with exactly
//     RCV.NXT, which RFC 5961 allows), never completes a handshake, never
//     injects data; an ACK completing a handshake acknowledges its SYN; an
//     accepted connection was opened by an application at the other end;
//     two synchronized ends agree on both initial sequence numbers;
//   - a SYN never ends TIME-WAIT when no listener takes it (RFC 1122
//     §4.2.2.13);
//   - no panic.
//
// # Reproducing
//
// A failing schedule is shrunk to a minimal one (faults turned back into
// "deliver" while the run fails the same way) and printed as a token,
// "threeway:6:dddddx" (d deliver, x drop, 2 duplicate, l delay) or
// "random:SEED", that `synack explore --replay TOKEN` runs again, drawing
// the run's ladder diagram.
package explore
