package tcp

import "strconv"

// State is a connection state of RFC 9293 §3.3.2 (Figure 5).
type State uint8

// The eleven states of RFC 9293 §3.3.2.
const (
	StateClosed      State = iota // CLOSED
	StateListen                   // LISTEN
	StateSynSent                  // SYN-SENT
	StateSynReceived              // SYN-RECEIVED
	StateEstablished              // ESTABLISHED
	StateFinWait1                 // FIN-WAIT-1
	StateFinWait2                 // FIN-WAIT-2
	StateCloseWait                // CLOSE-WAIT
	StateClosing                  // CLOSING
	StateLastAck                  // LAST-ACK
	StateTimeWait                 // TIME-WAIT
	numStates
)

var stateNames = [numStates]string{
	"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED",
	"FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
}

// String returns the RFC spelling: "SYN-SENT", "TIME-WAIT".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// ParseState is the inverse of String.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}

// States lists every state in RFC order.
func States() []State {
	s := make([]State, numStates)
	for i := range s {
		s[i] = State(i)
	}
	return s
}

// synchronized reports whether both sequence spaces are known: every state
// from ESTABLISHED on (RFC 9293 §3.5.2 calls these the synchronized states).
func (s State) synchronized() bool { return s >= StateEstablished }

// Synchronized is the exported form of synchronized.
func (s State) Synchronized() bool { return s.synchronized() }
