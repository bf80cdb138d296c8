package tcp

import (
	"time"

	"github.com/synack/synack/wire"
)

// Timer names one of a connection's timers. Each has one deadline
// (RFC 9293 §3.8, RFC 6298, RFC 1122 §4.2.3).
type Timer uint8

// The timers, in the order Tick fires them when several are due together.
const (
	TimerRetransmit  Timer = iota // retransmit
	TimerSynRetry                 // syn-retry: SYN or SYN+ACK retransmission
	TimerTimeWait                 // time-wait: 2*MSL
	TimerFinWait2                 // fin-wait-2: orphan FIN-WAIT-2 timeout
	TimerKeepalive                // keepalive
	TimerPersist                  // persist: zero-window probe
	TimerDelayedACK               // delayed-ack
	TimerUserTimeout              // user-timeout: RFC 5482
	numTimers
)

var timerNames = [numTimers]string{"retransmit", "syn-retry", "time-wait", "fin-wait-2", "keepalive", "persist", "delayed-ack", "user-timeout"}

// String returns the name used in traces: "retransmit", "time-wait".
func (t Timer) String() string {
	if t < numTimers {
		return timerNames[t]
	}
	return "Timer(" + itoa(int(t)) + ")"
}

// TimerAction says what happened to a timer.
type TimerAction uint8

// Timer actions.
const (
	TimerSet TimerAction = iota
	TimerFire
	TimerCancel
)

func (a TimerAction) String() string {
	switch a {
	case TimerSet:
		return "set"
	case TimerFire:
		return "fire"
	case TimerCancel:
		return "cancel"
	}
	return "TimerAction(" + itoa(int(a)) + ")"
}

// EventKind distinguishes trace events.
type EventKind uint8

// Event kinds.
const (
	EventState EventKind = iota // a state transition
	EventTimer                  // a timer set, fired or cancelled
	EventDrop                   // an arriving segment not accepted (dropped, or answered with an ACK), with the rule
	EventUser                   // a result reported to the user: EOF, an error
	EventICMP                   // an ICMP error or path MTU report, taken or ignored, with the rule
)

// Event is one trace event from a connection. Cause names the RFC rule.
type Event struct {
	Kind     EventKind
	From, To State       // EventState
	Timer    Timer       // EventTimer
	Action   TimerAction // EventTimer
	Deadline time.Time   // EventTimer, when set
	Seg      *wire.Segment
	Call     string // EventUser: "read-eof", "error", ...
	Err      error  // EventUser, EventICMP
	MSS      int    // EventICMP: the MSS a path MTU report allows
	Cause    string
}

// Observer receives a connection's trace events. Seg, if set, is valid only
// during the call.
type Observer interface {
	Event(now time.Time, c *Conn, e *Event)
}

// Output receives the segments a connection emits. The segment, and its
// payload, are valid only during the call; why names the rule that sent it.
type Output interface {
	Segment(now time.Time, c *Conn, s *wire.Segment, why string)
}

// Causes: the rules behind transitions, drops and sends. Each names its RFC.
const (
	CauseActiveOpen       = "RFC 9293 §3.10.1: active OPEN, send SYN"
	CausePassiveOpen      = "RFC 9293 §3.10.1: passive OPEN"
	CauseSynInListen      = "RFC 9293 §3.10.7.2: SYN in LISTEN, send SYN+ACK"
	CauseSynAck           = "RFC 9293 §3.10.7.3: SYN+ACK acknowledges our SYN, send ACK"
	CauseSimultaneousOpen = "RFC 9293 §3.10.7.3: SYN in SYN-SENT (simultaneous open), send SYN+ACK"
	CauseSynAckInSynRcvd  = "RFC 9293 §3.5 Figure 7: SYN+ACK completes a simultaneous open (as Linux)"
	CauseAckOfSyn         = "RFC 9293 §3.10.7.4: ACK of our SYN in SYN-RECEIVED"
	CauseBadAckInSynRcvd  = "RFC 9293 §3.10.7.4: unacceptable ACK in SYN-RECEIVED, send RST"
	CauseBadAckInSynSent  = "RFC 9293 §3.10.7.3: ACK of something never sent in SYN-SENT, send RST"
	CauseRSTRefused       = "RFC 9293 §3.10.7.3: acceptable RST in SYN-SENT, connection refused"
	CauseRSTPassive       = "RFC 9293 §3.10.7.4 (Note 3): RST in SYN-RECEIVED of a passive open, back to LISTEN"
	CauseRSTActive        = "RFC 9293 §3.10.7.4: RST in SYN-RECEIVED of an active open, connection refused"
	CauseRSTReset         = "RFC 9293 §3.10.7.4, RFC 5961 §3.2: RST with SEG.SEQ = RCV.NXT, connection reset"
	CauseRSTTimeWait      = "RFC 9293 §3.10.7.4: RST in TIME-WAIT closes it (RFC 1337 protection off, as Linux)"
	CauseRSTTimeWait1337  = "RFC 1337 §3: RST in TIME-WAIT ignored"
	CauseChallengeRST     = "RFC 5961 §3.2: RST in window but not exact, challenge ACK"
	CauseChallengeSYN     = "RFC 5961 §4.2: SYN in a synchronized state, challenge ACK"
	CauseChallengeLimit   = "RFC 5961 §7: challenge ACK rate limit reached, dropped silently"
	CauseSynInSynRcvd     = "RFC 9293 §3.10.7.4: SYN in SYN-RECEIVED of a passive open, back to LISTEN"
	CauseSynRetransmit    = "RFC 9293 §3.10.7.4: retransmitted SYN in SYN-RECEIVED, resend SYN+ACK (as Linux)"
	CauseUnacceptable     = "RFC 9293 §3.10.7.4: unacceptable segment, send ACK"
	CauseUnacceptableRST  = "RFC 9293 §3.10.7.4: unacceptable RST, dropped"
	CausePAWS             = "RFC 7323 §5.3: PAWS, timestamp older than TS.Recent, send ACK"
	CauseAckUnsent        = "RFC 9293 §3.10.7.4: ACK of unsent data, send ACK and drop"
	CauseAckTooOld        = "RFC 5961 §5.2: ACK older than SND.UNA - MAX.SND.WND, send ACK and drop"
	CauseNoAck            = "RFC 9293 §3.10.7.4: segment without ACK, dropped"
	CauseNoSynNoRST       = "RFC 9293 §3.10.7.3: neither SYN nor RST in SYN-SENT, dropped"
	CauseRSTInListen      = "RFC 9293 §3.10.7.2: RST in LISTEN ignored"
	CauseAckInListen      = "RFC 9293 §3.10.7.2: ACK in LISTEN, send RST"
	CauseSynFinInListen   = "RFC 9293 §3.10.7.2: SYN+FIN in LISTEN dropped (as Linux)"
	CauseNoSynInListen    = "RFC 9293 §3.10.7.2: neither SYN, ACK nor RST in LISTEN, dropped"
	CauseBadEchoInSynSent = "RFC 7323 §4.1: the SYN+ACK echoes no timestamp of our SYN, send RST (as Linux)"
	CauseNoTCB            = "RFC 9293 §3.10.7.1: segment for a CLOSED connection, send RST"
	CauseNoTCBRST         = "RFC 9293 §3.10.7.1: RST for a CLOSED connection, dropped"
	CauseFinWait1Acked    = "RFC 9293 §3.10.7.4: ACK of our FIN in FIN-WAIT-1"
	CauseClosingAcked     = "RFC 9293 §3.10.7.4: ACK of our FIN in CLOSING"
	CauseLastAckAcked     = "RFC 9293 §3.10.7.4: ACK of our FIN in LAST-ACK"
	CauseFinInEstab       = "RFC 9293 §3.10.7.4: FIN received, ACK it, enter CLOSE-WAIT"
	CauseFinInFinWait1    = "RFC 9293 §3.10.7.4: FIN received before our FIN is ACKed (simultaneous close), enter CLOSING"
	CauseFinAckInFinWait1 = "RFC 9293 §3.10.7.4 (Note 2): FIN with the ACK of our FIN, enter TIME-WAIT"
	CauseFinInFinWait2    = "RFC 9293 §3.10.7.4: FIN in FIN-WAIT-2, ACK it, enter TIME-WAIT"
	CauseFinInTimeWait    = "RFC 9293 §3.10.7.4: retransmitted FIN in TIME-WAIT, ACK it, restart 2MSL"
	CauseStaleInTimeWait  = "RFC 9293 §3.10.7.4: old segment in TIME-WAIT refused by sequence check, send ACK"
	CauseTimeWaitReopen   = "RFC 9293 §3.6.1, RFC 6191: new SYN beyond RCV.NXT reopens the 4-tuple from TIME-WAIT"
	CauseTimeWaitExpired  = "RFC 9293 §3.10.8: 2MSL time-wait timeout, delete the TCB"
	CauseCloseFIN         = "RFC 9293 §3.10.4: CLOSE, send FIN"
	CauseCloseListen      = "RFC 9293 §3.10.4: CLOSE in LISTEN"
	CauseCloseSynSent     = "RFC 9293 §3.10.4: CLOSE in SYN-SENT, delete the TCB"
	CauseAbort            = "RFC 9293 §3.10.5: ABORT, send RST"
	CauseAbortQuiet       = "RFC 9293 §3.10.5: ABORT, delete the TCB without RST"
	CauseUnreadData       = "RFC 2525 §2.17: close with unread data, send RST (as Linux)"
	CauseDataAfterClose   = "RFC 9293 §3.10.7.4: data for an orphaned connection, send RST (as Linux)"
	CauseSynGiveUp        = "RFC 9293 §3.8.3: SYN retransmissions exhausted (R2), connection timed out"
	CauseSynAckGiveUp     = "RFC 9293 §3.8.3: SYN+ACK retransmissions exhausted (R2), half-open connection freed"
	CauseRetransGiveUp    = "RFC 9293 §3.8.3: retransmissions exhausted (R2), connection timed out"
	CauseKeepaliveGiveUp  = "RFC 1122 §4.2.3.6: keepalive probes unanswered, connection timed out"
	CauseUserTimeout      = "RFC 5482: user timeout, connection timed out"
	CauseICMPAbort        = "RFC 5461 §3: ICMP unreachable for a connection being opened aborts it (as Linux)"
	CauseICMPSoft         = "RFC 1122 §4.2.3.9: ICMP error in a synchronized state is soft, kept for a time-out to report"
	CauseICMPOutOfWindow  = "RFC 5927 §4.1: ICMP quotes a sequence number not in flight, ignored"
	CauseICMPNoConn       = "RFC 5927 §4.1: ICMP for a connection with nothing in flight, ignored"
	CausePMTU             = "RFC 1191, RFC 8201: packet too big, lower the MSS to the path MTU"
	CausePMTUResend       = "RFC 1191 §6.4: path MTU lowered, resend what the path dropped"
	CauseFinWait2Timeout  = "RFC 9293 §3.10.7.4 note: FIN-WAIT-2 timeout of an orphaned connection (Linux tcp_fin_timeout)"
	CauseRetransmit       = "RFC 6298 §5.4: retransmission timeout, retransmit the earliest unacknowledged segment"
	CauseFastRetransmit   = "RFC 5681 §3.2: third duplicate ACK, fast retransmit"
	CausePartialAck       = "RFC 6582 §3.2: partial ACK in fast recovery, retransmit the next segment"
	CauseKeepaliveProbe   = "RFC 1122 §4.2.3.6: keepalive probe, SEQ = SND.NXT - 1"
	CauseZeroWindowProbe  = "RFC 9293 §3.8.6.1: zero-window probe"
	CauseDelayedACK       = "RFC 1122 §4.2.3.2: delayed ACK"
	CauseAck              = "RFC 9293 §3.10.7.4: acknowledge received data"
	CauseOutOfOrder       = "RFC 5681 §4.2: out-of-order segment, send duplicate ACK at once"
	CauseWindowUpdate     = "RFC 9293 §3.8.6.2.2: receive window opened, send window update"
	CauseData             = "RFC 9293 §3.10.2: SEND"
	CauseOutOfWindow      = "RFC 9293 §3.10.7.4: data beyond the receive window trimmed"
	CauseDuplicateSeg     = "RFC 9293 §3.10.7.4: segment wholly before RCV.NXT"
)
