// Package tcp is one TCP connection — its transmission control block and
// its state machine — as a pure sans-IO core. Every event-processing rule
// of RFC 9293 §3.10 lives here, once; package stack runs many connections
// over links, and packages sim and netconn drive the stack.
//
// # What to read first
//
// RFC 9293 is the authority; the code cites it by section. Then, for the
// parts it builds on:
//
//   - RFC 9293: the state machine, segment processing (§3.10), the
//     sequence-number tests (§3.4), windows and SWS avoidance (§3.8.6)
//   - RFC 5961: blind RST, SYN and data injection; challenge ACKs
//   - RFC 6298: the retransmission timer and Karn's rule
//   - RFC 7323: window scaling, timestamps, PAWS
//   - RFC 5681 and RFC 6582: congestion control and NewReno fast recovery
//   - RFC 2018, RFC 6675, RFC 8985 and RFC 6937: SACK, the scoreboard and
//     its loss recovery, RACK-TLP, PRR (sack.go, recovery.go, rack.go)
//   - RFC 2883 and RFC 3522: duplicate SACKs and the Eifel detection, which
//     find a window reduction spurious so that it is undone (undo.go)
//   - RFC 9438 and RFC 9406: CUBIC with HyStart++, the default congestion
//     control (Config.CongestionControl "cubic"; "reno" is RFC 5681's)
//   - RFC 1122 §4.2: keepalive, delayed ACKs, zero-window probes, ICMP
//   - RFC 1337: TIME-WAIT assassination (Config.RFC1337)
//   - RFC 4987: SYN floods and SYN cookies (the compact records below)
//   - RFC 6528: initial sequence numbers, which the caller chooses
//     (OpenOptions.ISS)
//
// Where Linux departs from an RFC and interoperability needs Linux's
// behaviour, the code follows Linux and says so beside the rule, naming
// the Linux function.
//
// # The shape of the API
//
// Inputs are segments, ticks and user calls; outputs are segments and
// events. Each input takes now, the current time, from the caller: the
// package never reads a clock, starts a goroutine, takes a lock or does
// I/O (a test in internal/purity keeps it so). A Conn is not safe for
// concurrent use; its driver calls in one at a time.
//
//   - Segments in: SegmentArrives, for a segment of the connection's
//     4-tuple; ListenDecide and ListenArrive for one that reached a
//     listener; ResetFor for one that matches nothing (§3.10.7.1).
//   - Ticks in: Tick, at the time NextDeadline returns.
//   - User calls in (§3.10.1–§3.10.6): OpenActive, OpenPassive, Send,
//     Receive, Close, Abort, Detach (close(2) of the application),
//     SetKeepAlive, SetNoDelay, SetUserTimeout, Status.
//   - The IP layer in: ICMPError and PathMTU.
//   - Segments out: Output.Segment, with the Cause that sent each.
//   - Events out: Observer.Event — state changes, timers set, fired and
//     cancelled, segments dropped, errors reported to the user — each with
//     its Cause. A segment or event handed out is valid only during the
//     call.
//
// # One transition function
//
// Every change of state goes through setState (conn.go), which also stops
// every other timer on entering TIME-WAIT, CLOSED or LISTEN (§3.10.7.4)
// and traces the change with its cause. The legal transitions are the table Transitions
// (transitions.go): RFC 9293 Figure 5, its notes, and what aborts,
// give-ups and timers add. The tests and the explorer check every traced
// transition against it (Legal).
//
// # Causes
//
// A Cause (cause.go) is a small value naming the rule behind a segment
// sent, a segment dropped or a state change, with its reference and
// English text (String, Ref, Words) and its properties
// (Retransmission). The stack's own rules are causes too. Translations
// are arrays indexed by Cause, NumCauses long; the JSON trace writes
// String, and ParseCause reads it back.
//
// # The parts of a Conn
//
// Conn holds the connection's identity and state; the rest of the TCB is
// split by concern into embedded parts, each in its file with the rules
// that are mostly its own: sendSpace (send.go), recvSpace (recv.go),
// negotiated (options.go), tsState (timestamps.go), timerState
// (timers.go, with the RTT estimator in rto.go) and lossRecovery
// (recovery.go; the window sizes are a Congestion, congestion.go). Loss
// recovery's state — the SACK scoreboard (sack.go), RACK's send log
// (rack.go), the undo (undo.go) and the loss counters — is out of line, a
// lossState made when the connection first needs it, so that an idle
// TCB stays small.
// arrive.go and ack.go are RFC 9293 §3.10.7 in its order; output.go is
// the way out.
//
// # Compact records
//
// A stack keeps a half-open connection (SYN-RECEIVED) as a HalfOpen and
// one in TIME-WAIT as a TimeWait, at most 48 bytes instead of a Conn, and
// builds a HalfOpen from a SYN cookie (HalfOpenFromCookie). To process a
// segment or a timer for one, it restores the record into a scratch Conn
// (RestoreHalfOpen, RestoreTimeWait), runs the same rules and saves it
// back (SaveHalfOpen, SaveTimeWait): the rules are not copied. These and
// the other calls for stacks (ListenArrive, SetHooks, SetNoReopen) are in
// compact.go.
//
// # Limitations
//
// Not implemented, or only in part:
//
//   - Loss recovery is Linux's: RFC 6675 with RACK-TLP and PRR when the
//     peer does SACK, NewReno otherwise; no limited transmit (RFC 3042).
//     A reduction found spurious afterwards is undone, as Linux's
//     tcp_try_undo_* do: by DSACKs (RFC 2883) or timestamps (RFC 3522),
//     not F-RTO (RFC 5682); why, in undo.go. Linux's partial undo (a
//     hole filled by a late original while other retransmissions are
//     out) is not done. The receiver reports duplicate data (RFC 2883
//     §4), not a duplicate FIN (Linux does).
//   - Congestion control is CUBIC or NewReno; Config.Congestion can plug
//     in another window algorithm, which loss recovery tells of each
//     reduction and each undo (Congestion.Undo, RFC 9438 §4.9).
//   - No TCP Fast Open (RFC 7413): data on a SYN or SYN+ACK is not kept
//     (nor acknowledged), and the peer sends it again after the handshake.
//   - No urgent data (RFC 9293 §3.8.5): the URG flag and the urgent
//     pointer are ignored on input and never sent, so urgent bytes arrive
//     in line with the rest.
//   - No ECN (RFC 3168), no TCP-AO or MD5 signatures (RFC 5925, RFC
//     2385), no Multipath TCP.
//   - The user timeout is local: the RFC 5482 option is neither sent nor
//     honoured.
//   - Path MTU discovery is ICMP-based only (RFC 1191, RFC 8201); no
//     packetization-layer probing (RFC 8899).
//   - Buffers have the fixed sizes of Config.SndBuf and Config.RcvBuf;
//     there is no autotuning.
//   - A SEND in LISTEN does not turn the connection active (§3.10.2 allows
//     it; no socket API offers it).
package tcp
