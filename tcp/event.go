package tcp

import (
	"strconv"
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
	TimerLossProbe                // loss-probe: RFC 8985 §7.2 tail loss probe (Linux ICSK_TIME_LOSS_PROBE)
	TimerReorder                  // reorder: RFC 8985 §6.3 RACK reordering timer (Linux ICSK_TIME_REO_TIMEOUT)
	numTimers
)

var timerNames = [numTimers]string{"retransmit", "syn-retry", "time-wait", "fin-wait-2", "keepalive", "persist", "delayed-ack", "user-timeout", "loss-probe", "reorder"}

// String returns the name used in traces: "retransmit", "time-wait".
func (t Timer) String() string {
	if t < numTimers {
		return timerNames[t]
	}
	return "Timer(" + strconv.Itoa(int(t)) + ")"
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
	return "TimerAction(" + strconv.Itoa(int(a)) + ")"
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
	EventUndo                   // a window reduction found spurious and undone, with the rule that found it
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
	CWnd     int    // EventUndo: the congestion window restored, bytes
	SSThresh int    // EventUndo: the slow-start threshold restored, bytes
	Cause    Cause
}

// Observer receives a connection's trace events. Seg, if set, is valid only
// during the call.
type Observer interface {
	Event(now time.Time, c *Conn, e *Event)
}

// Output receives the segments a connection emits. The segment, and its
// payload, are valid only during the call; why names the rule that sent it.
type Output interface {
	Segment(now time.Time, c *Conn, s *wire.Segment, why Cause)
}
