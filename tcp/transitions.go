package tcp

// Transition is one row of the table of legal state transitions
// (DESIGN.md): RFC 9293 Figure 5, its notes, and the transitions that
// aborts, give-ups and timers add. The figure-5 coverage test, the
// explorer's invariant and the traces all use this one table.
type Transition struct {
	From, To State
	When     string
}

// Transitions is the table. Any transition not listed is a bug.
var Transitions = []Transition{
	{StateClosed, StateListen, "passive OPEN"},
	{StateClosed, StateSynSent, "active OPEN: send SYN"},
	{StateListen, StateSynReceived, "SYN arrives: send SYN+ACK"},
	{StateListen, StateClosed, "CLOSE"},
	{StateSynSent, StateSynReceived, "SYN arrives (simultaneous open): send SYN+ACK"},
	{StateSynSent, StateEstablished, "SYN+ACK arrives: send ACK"},
	{StateSynSent, StateClosed, "CLOSE, acceptable RST, SYN retries exhausted, user timeout, ICMP unreachable (as Linux)"},
	{StateSynReceived, StateEstablished, "ACK of our SYN"},
	{StateSynReceived, StateFinWait1, "CLOSE: send FIN"},
	{StateSynReceived, StateListen, "RST (or SYN, or a hard ICMP error) when opened passively (Note 3)"},
	{StateSynReceived, StateClosed, "RST when opened actively, ABORT, SYN+ACK retries exhausted, user timeout, ICMP unreachable"},
	{StateEstablished, StateFinWait1, "CLOSE: send FIN"},
	{StateEstablished, StateCloseWait, "FIN arrives: ACK it"},
	{StateFinWait1, StateFinWait2, "ACK of our FIN"},
	{StateFinWait1, StateClosing, "FIN arrives before our FIN is ACKed: ACK it"},
	{StateFinWait1, StateTimeWait, "FIN arriving with the ACK of our FIN (Note 2)"},
	{StateFinWait2, StateTimeWait, "FIN arrives: ACK it"},
	{StateFinWait2, StateClosed, "FIN-WAIT-2 timeout of an orphan; acceptable RST, ABORT, give-up"},
	{StateCloseWait, StateLastAck, "CLOSE: send FIN"},
	{StateClosing, StateTimeWait, "ACK of our FIN"},
	{StateLastAck, StateClosed, "ACK of our FIN; acceptable RST, ABORT, give-up"},
	{StateTimeWait, StateClosed, "2MSL timeout; RST when RFC 1337 protection is off; a new SYN reopens the 4-tuple"},
	{StateEstablished, StateClosed, "acceptable RST, ABORT (sends RST), retransmission / keepalive give-up, user timeout"},
	{StateFinWait1, StateClosed, "acceptable RST, ABORT (sends RST), retransmission give-up, user timeout"},
	{StateCloseWait, StateClosed, "acceptable RST, ABORT (sends RST), retransmission / keepalive give-up, user timeout"},
	{StateClosing, StateClosed, "acceptable RST, ABORT, retransmission give-up, user timeout"},
}

// Legal reports whether from → to is a row of Transitions.
func Legal(from, to State) bool {
	for _, t := range Transitions {
		if t.From == from && t.To == to {
			return true
		}
	}
	return false
}
