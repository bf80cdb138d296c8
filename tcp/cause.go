package tcp

import "strings"

// Cause names the rule behind a state change, a segment sent or a segment
// dropped: a small value, not a sentence. Each has its RFC reference and
// its English text (String gives both, as the JSON trace writes them);
// translations are arrays indexed by it (package trace).
type Cause uint8

// The causes of package tcp, then those the stack adds around its TCBs.
const (
	CauseNone Cause = iota
	CauseActiveOpen
	CausePassiveOpen
	CauseSynInListen
	CauseSynAck
	CauseSimultaneousOpen
	CauseSynAckInSynRcvd
	CauseAckOfSyn
	CauseBadAckInSynRcvd
	CauseBadAckInSynSent
	CauseRSTRefused
	CauseRSTPassive
	CauseRSTActive
	CauseRSTReset
	CauseRSTTimeWait
	CauseRSTTimeWait1337
	CauseChallengeRST
	CauseChallengeSYN
	CauseChallengeLimit
	CauseSynInSynRcvd
	CauseSynRetransmit
	CauseUnacceptable
	CauseUnacceptableRST
	CausePAWS
	CauseAckUnsent
	CauseAckTooOld
	CauseNoAck
	CauseNoSynNoRST
	CauseRSTInListen
	CauseAckInListen
	CauseSynFinInListen
	CauseNoSynInListen
	CauseBadEchoInSynSent
	CauseNoTCB
	CauseNoTCBRST
	CauseFinWait1Acked
	CauseClosingAcked
	CauseLastAckAcked
	CauseFinInEstab
	CauseFinInFinWait1
	CauseFinAckInFinWait1
	CauseFinInFinWait2
	CauseFinInTimeWait
	CauseStaleInTimeWait
	CauseTimeWaitReopen
	CauseTimeWaitExpired
	CauseCloseFIN
	CauseCloseListen
	CauseCloseSynSent
	CauseAbort
	CauseAbortQuiet
	CauseUnreadData
	CauseDataAfterClose
	CauseSynGiveUp
	CauseSynAckGiveUp
	CauseRetransGiveUp
	CauseKeepaliveGiveUp
	CauseUserTimeout
	CauseICMPAbort
	CauseICMPSoft
	CauseICMPOutOfWindow
	CauseICMPNoConn
	CausePMTU
	CausePMTUResend
	CauseFinWait2Timeout
	CauseRetransmit
	CauseFastRetransmit
	CausePartialAck
	CauseKeepaliveProbe
	CauseZeroWindowProbe
	CauseDelayedACK
	CauseAck
	CauseOutOfOrder
	CauseWindowUpdate
	CauseData
	CauseOutOfWindow
	CauseDuplicateSeg
	CauseRACKLost
	CauseSACKLost
	CauseSACKHole
	CauseRescue
	CauseTLP
	CauseTLPNewData
	CauseUndoDSACK
	CauseUndoEifel

	// Rules of the stack around the TCBs (package stack).
	CauseTWReuse
	CauseTWOverflow
	CauseCookieSent
	CauseCookieOK
	CauseListenerClosed
	// Segments the stack drops before any TCB sees them.
	CauseDropNoConn
	CauseDropRSTNoConn
	CauseDropSynQueueFull
	CauseDropAcceptQueueFull
	CauseDropForwarderFull

	numCauses
)

// NumCauses is the number of causes, CauseNone included: the length of a
// table indexed by Cause.
const NumCauses = int(numCauses)

// causeText is each cause in English, its reference first.
var causeText = [numCauses]string{
	CauseActiveOpen:          "RFC 9293 §3.10.1: active OPEN, send SYN",
	CausePassiveOpen:         "RFC 9293 §3.10.1: passive OPEN",
	CauseSynInListen:         "RFC 9293 §3.10.7.2: SYN in LISTEN, send SYN+ACK",
	CauseSynAck:              "RFC 9293 §3.10.7.3: SYN+ACK acknowledges our SYN, send ACK",
	CauseSimultaneousOpen:    "RFC 9293 §3.10.7.3: SYN in SYN-SENT (simultaneous open), send SYN+ACK",
	CauseSynAckInSynRcvd:     "RFC 9293 §3.5 Figure 7: SYN+ACK completes a simultaneous open (as Linux)",
	CauseAckOfSyn:            "RFC 9293 §3.10.7.4: ACK of our SYN in SYN-RECEIVED",
	CauseBadAckInSynRcvd:     "RFC 9293 §3.10.7.4: unacceptable ACK in SYN-RECEIVED, send RST",
	CauseBadAckInSynSent:     "RFC 9293 §3.10.7.3: ACK of something never sent in SYN-SENT, send RST",
	CauseRSTRefused:          "RFC 9293 §3.10.7.3: acceptable RST in SYN-SENT, connection refused",
	CauseRSTPassive:          "RFC 9293 §3.10.7.4 (Note 3): RST in SYN-RECEIVED of a passive open, back to LISTEN",
	CauseRSTActive:           "RFC 9293 §3.10.7.4: RST in SYN-RECEIVED of an active open, connection refused",
	CauseRSTReset:            "RFC 9293 §3.10.7.4, RFC 5961 §3.2: RST with SEG.SEQ = RCV.NXT, connection reset",
	CauseRSTTimeWait:         "RFC 9293 §3.10.7.4: RST in TIME-WAIT closes it (RFC 1337 protection off, as Linux)",
	CauseRSTTimeWait1337:     "RFC 1337 §3: RST in TIME-WAIT ignored",
	CauseChallengeRST:        "RFC 5961 §3.2: RST in window but not exact, challenge ACK",
	CauseChallengeSYN:        "RFC 5961 §4.2: SYN in a synchronized state, challenge ACK",
	CauseChallengeLimit:      "RFC 5961 §7: challenge ACK rate limit reached, dropped silently",
	CauseSynInSynRcvd:        "RFC 9293 §3.10.7.4: SYN in SYN-RECEIVED of a passive open, back to LISTEN",
	CauseSynRetransmit:       "RFC 9293 §3.10.7.4: retransmitted SYN in SYN-RECEIVED, resend SYN+ACK (as Linux)",
	CauseUnacceptable:        "RFC 9293 §3.10.7.4: unacceptable segment, send ACK",
	CauseUnacceptableRST:     "RFC 9293 §3.10.7.4: unacceptable RST, dropped",
	CausePAWS:                "RFC 7323 §5.3: PAWS, timestamp older than TS.Recent, send ACK",
	CauseAckUnsent:           "RFC 9293 §3.10.7.4: ACK of unsent data, send ACK and drop",
	CauseAckTooOld:           "RFC 5961 §5.2: ACK older than SND.UNA - MAX.SND.WND, send ACK and drop",
	CauseNoAck:               "RFC 9293 §3.10.7.4: segment without ACK, dropped",
	CauseNoSynNoRST:          "RFC 9293 §3.10.7.3: neither SYN nor RST in SYN-SENT, dropped",
	CauseRSTInListen:         "RFC 9293 §3.10.7.2: RST in LISTEN ignored",
	CauseAckInListen:         "RFC 9293 §3.10.7.2: ACK in LISTEN, send RST",
	CauseSynFinInListen:      "RFC 9293 §3.10.7.2: SYN+FIN in LISTEN dropped (as Linux)",
	CauseNoSynInListen:       "RFC 9293 §3.10.7.2: neither SYN, ACK nor RST in LISTEN, dropped",
	CauseBadEchoInSynSent:    "RFC 7323 §4.1: the SYN+ACK echoes no timestamp of our SYN, send RST (as Linux)",
	CauseNoTCB:               "RFC 9293 §3.10.7.1: segment for a CLOSED connection, send RST",
	CauseNoTCBRST:            "RFC 9293 §3.10.7.1: RST for a CLOSED connection, dropped",
	CauseFinWait1Acked:       "RFC 9293 §3.10.7.4: ACK of our FIN in FIN-WAIT-1",
	CauseClosingAcked:        "RFC 9293 §3.10.7.4: ACK of our FIN in CLOSING",
	CauseLastAckAcked:        "RFC 9293 §3.10.7.4: ACK of our FIN in LAST-ACK",
	CauseFinInEstab:          "RFC 9293 §3.10.7.4: FIN received, ACK it, enter CLOSE-WAIT",
	CauseFinInFinWait1:       "RFC 9293 §3.10.7.4: FIN received before our FIN is ACKed (simultaneous close), enter CLOSING",
	CauseFinAckInFinWait1:    "RFC 9293 §3.10.7.4 (Note 2): FIN with the ACK of our FIN, enter TIME-WAIT",
	CauseFinInFinWait2:       "RFC 9293 §3.10.7.4: FIN in FIN-WAIT-2, ACK it, enter TIME-WAIT",
	CauseFinInTimeWait:       "RFC 9293 §3.10.7.4: retransmitted FIN in TIME-WAIT, ACK it, restart 2MSL",
	CauseStaleInTimeWait:     "RFC 9293 §3.10.7.4: old segment in TIME-WAIT refused by sequence check, send ACK",
	CauseTimeWaitReopen:      "RFC 9293 §3.6.1, RFC 6191: new SYN beyond RCV.NXT reopens the 4-tuple from TIME-WAIT",
	CauseTimeWaitExpired:     "RFC 9293 §3.10.8: 2MSL time-wait timeout, delete the TCB",
	CauseCloseFIN:            "RFC 9293 §3.10.4: CLOSE, send FIN",
	CauseCloseListen:         "RFC 9293 §3.10.4: CLOSE in LISTEN",
	CauseCloseSynSent:        "RFC 9293 §3.10.4: CLOSE in SYN-SENT, delete the TCB",
	CauseAbort:               "RFC 9293 §3.10.5: ABORT, send RST",
	CauseAbortQuiet:          "RFC 9293 §3.10.5: ABORT, delete the TCB without RST",
	CauseUnreadData:          "RFC 2525 §2.17: close with unread data, send RST (as Linux)",
	CauseDataAfterClose:      "RFC 9293 §3.10.7.4: data for an orphaned connection, send RST (as Linux)",
	CauseSynGiveUp:           "RFC 9293 §3.8.3: SYN retransmissions exhausted (R2), connection timed out",
	CauseSynAckGiveUp:        "RFC 9293 §3.8.3: SYN+ACK retransmissions exhausted (R2), half-open connection freed",
	CauseRetransGiveUp:       "RFC 9293 §3.8.3: retransmissions exhausted (R2), connection timed out",
	CauseKeepaliveGiveUp:     "RFC 1122 §4.2.3.6: keepalive probes unanswered, connection timed out",
	CauseUserTimeout:         "RFC 5482: user timeout, connection timed out",
	CauseICMPAbort:           "RFC 5461 §3: ICMP unreachable for a connection being opened aborts it (as Linux)",
	CauseICMPSoft:            "RFC 1122 §4.2.3.9: ICMP error in a synchronized state is soft, kept for a time-out to report",
	CauseICMPOutOfWindow:     "RFC 5927 §4.1: ICMP quotes a sequence number not in flight, ignored",
	CauseICMPNoConn:          "RFC 5927 §4.1: ICMP for a connection with nothing in flight, ignored",
	CausePMTU:                "RFC 1191, RFC 8201: packet too big, lower the MSS to the path MTU",
	CausePMTUResend:          "RFC 1191 §6.4: path MTU lowered, resend what the path dropped",
	CauseFinWait2Timeout:     "RFC 9293 §3.10.7.4 note: FIN-WAIT-2 timeout of an orphaned connection (Linux tcp_fin_timeout)",
	CauseRetransmit:          "RFC 6298 §5.4: retransmission timeout, retransmit the earliest unacknowledged segment",
	CauseFastRetransmit:      "RFC 5681 §3.2: third duplicate ACK, fast retransmit",
	CausePartialAck:          "RFC 6582 §3.2: partial ACK in fast recovery, retransmit the next segment",
	CauseKeepaliveProbe:      "RFC 1122 §4.2.3.6: keepalive probe, SEQ = SND.NXT - 1",
	CauseZeroWindowProbe:     "RFC 9293 §3.8.6.1: zero-window probe",
	CauseDelayedACK:          "RFC 1122 §4.2.3.2: delayed ACK",
	CauseAck:                 "RFC 9293 §3.10.7.4: acknowledge received data",
	CauseOutOfOrder:          "RFC 5681 §4.2: out-of-order segment, send duplicate ACK at once",
	CauseWindowUpdate:        "RFC 9293 §3.8.6.2.2: receive window opened, send window update",
	CauseData:                "RFC 9293 §3.10.2: SEND",
	CauseOutOfWindow:         "RFC 9293 §3.10.7.4: data beyond the receive window trimmed",
	CauseDuplicateSeg:        "RFC 9293 §3.10.7.4: segment wholly before RCV.NXT",
	CauseRACKLost:            "RFC 8985 §6.2: RACK: a later segment was delivered and this one's RTT plus reordering window passed, retransmit",
	CauseSACKLost:            "RFC 6675 §4 NextSeg (1): DupThresh segments SACKed above this hole, retransmit",
	CauseSACKHole:            "RFC 6675 §4 NextSeg (3): retransmit the next hole not yet retransmitted",
	CauseRescue:              "RFC 6675 §4 NextSeg (4): rescue retransmission of the highest unSACKed segment",
	CauseTLP:                 "RFC 8985 §7.3: tail loss probe: no ACK within the probe timeout, resend the last segment",
	CauseTLPNewData:          "RFC 8985 §7.3: tail loss probe: no ACK within the probe timeout, send one new segment",
	CauseUndoDSACK:           "RFC 2883 §4: spurious retransmission, each one reported duplicate (DSACK): the window reduction is undone (RFC 9438 §4.9)",
	CauseUndoEifel:           "RFC 3522 §2: spurious retransmission, the ACK echoes the original's timestamp: the window reduction is undone (RFC 9438 §4.9)",
	CauseTWReuse:             "tcp_tw_reuse (Linux): Dial reuses a 4-tuple in TIME-WAIT; the new ISN lies beyond the old SND.NXT",
	CauseTWOverflow:          "TIME-WAIT table full (Linux tcp_max_tw_buckets): the connection is dropped at once",
	CauseCookieSent:          "RFC 4987 §3.6: SYN queue full or cookies always on, send SYN+ACK with a SYN cookie; keep no state",
	CauseCookieOK:            "RFC 4987 §3.6: ACK returns a valid SYN cookie, connection rebuilt from it",
	CauseListenerClosed:      "listener closed: its half-open connections are dropped (as Linux)",
	CauseDropNoConn:          "RFC 9293 §3.10.7.1: no connection, answered with RST",
	CauseDropRSTNoConn:       "RFC 9293 §3.10.7.1: a RST for no connection is dropped, never answered",
	CauseDropSynQueueFull:    "SYN queue full and SYN cookies off: SYN dropped (Linux ListenDrops)",
	CauseDropAcceptQueueFull: "accept queue full: dropped, the peer will retry (Linux ListenOverflows)",
	CauseDropForwarderFull:   "too many forwarded handshakes in flight: SYN dropped",
}

// String is the cause as traces write it: "RFC 9293 §3.10.1: active OPEN,
// send SYN".
func (c Cause) String() string {
	if c < numCauses {
		return causeText[c]
	}
	return "Cause(?)"
}

// Ref is the cause's reference ("RFC 9293 §3.10.1"), or "" if it has none.
func (c Cause) Ref() string { r, _ := c.split(); return r }

// Words is the cause without its reference ("active OPEN, send SYN").
func (c Cause) Words() string { _, w := c.split(); return w }

func (c Cause) split() (ref, words string) { return SplitCause(c.String()) }

// SplitCause splits a cause's text into its reference and its words; a
// text with no reference before its first ": " is all words.
func SplitCause(s string) (ref, words string) {
	ref, words, ok := strings.Cut(s, ": ")
	if !ok || !strings.Contains(ref, "RFC") && !strings.Contains(ref, "§") && !strings.Contains(ref, "(Linux)") {
		return "", s
	}
	return ref, words
}

// Retransmission reports whether a segment sent for this cause is data
// sent again.
func (c Cause) Retransmission() bool {
	switch c {
	case CauseRetransmit, CauseFastRetransmit, CausePartialAck, CauseRACKLost, CauseSACKLost, CauseSACKHole, CauseRescue, CauseTLP:
		return true
	}
	return false
}

var causeByText = func() map[string]Cause {
	m := make(map[string]Cause, numCauses)
	for c := Cause(1); c < numCauses; c++ {
		m[causeText[c]] = c
	}
	return m
}()

// ParseCause finds the cause whose String is s (as read from a JSON trace).
func ParseCause(s string) (Cause, bool) {
	c, ok := causeByText[s]
	return c, ok
}
