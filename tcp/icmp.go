package tcp

import (
	"syscall"
	"time"

	"github.com/synack/synack/seq"
)

// This file holds what the IP layer tells a connection: ICMP errors about
// segments it sent (RFC 1122 §4.2.3.9, RFC 5927) and a lower path MTU
// (RFC 1191, RFC 8201). The stack finds the connection from the quoted
// header; the connection checks that the quote is of a segment in flight.

// quoteInFlight is RFC 5927 §4.1's check, as Linux's tcp_v4_err does it:
// the quoted sequence number must lie in [SND.UNA, SND.NXT], so a forged
// ICMP must guess a sequence number in flight, as a forged RST must.
func (c *Conn) quoteInFlight(q seq.Num) bool {
	return q.GreaterThanEq(c.sndUna) && q.LessThanEq(c.sndMax)
}

// icmpAccept applies the checks every ICMP report must pass, tracing a
// refusal: the connection has something in flight (CLOSED, LISTEN and
// TIME-WAIT have not; Linux ignores ICMP for TIME-WAIT sockets), and the
// quote is of it (quoteInFlight).
func (c *Conn) icmpAccept(now time.Time, quoted seq.Num, err error, mss int) bool {
	switch {
	case c.state == StateClosed, c.state == StateListen, c.state == StateTimeWait:
		c.icmpEvent(now, err, mss, CauseICMPNoConn)
		return false
	case !c.quoteInFlight(quoted):
		c.icmpEvent(now, err, mss, CauseICMPOutOfWindow)
		return false
	}
	return true
}

// ICMPError reports an ICMP or ICMPv6 error — destination unreachable, time
// exceeded, parameter problem — quoting a segment of this connection with
// sequence number quoted. err is the errno the error means (Linux's
// icmp_err_convert: ECONNREFUSED for port unreachable, EHOSTUNREACH for
// host unreachable, ...) and fatal says whether that table calls it a hard
// error. It returns whether the connection took the report.
//
// As Linux does: in SYN-SENT, and in SYN-RECEIVED of an active (simultaneous)
// open, any such error aborts the attempt with err, so a Dial fails at once
// instead of waiting out its SYN retries; RFC 5461 §3 documents this
// departure from RFC 1122 §4.2.3.9, which calls unreachables soft. A passive
// SYN-RECEIVED returns to LISTEN on a hard error only. In a synchronized state the
// error is soft: it is kept and reported instead of ETIMEDOUT if the
// connection later times out (RFC 1122 §4.2.3.9; Linux sk_err_soft).
func (c *Conn) ICMPError(now time.Time, quoted seq.Num, err error, fatal bool) bool {
	if !c.icmpAccept(now, quoted, err, 0) {
		return false
	}
	switch {
	case c.state == StateSynReceived && c.passive && fatal:
		// Linux drops the request (tcp_req_err); the listener stays, as
		// after a RST (Note 3).
		c.icmpEvent(now, err, 0, CauseICMPAbort)
		c.backToListen(now, CauseICMPAbort)
	case c.state == StateSynSent, c.state == StateSynReceived && !c.passive:
		c.icmpEvent(now, err, 0, CauseICMPAbort)
		c.closeWith(now, err, CauseICMPAbort)
	default:
		c.softErr = err
		c.icmpEvent(now, err, 0, CauseICMPSoft)
	}
	return true
}

// PathMTU reports an ICMP Fragmentation Needed (RFC 1191) or ICMPv6 Packet
// Too Big (RFC 8201) quoting a segment with sequence number quoted. mss is
// the largest segment the path now carries without TCP options: the
// reported MTU less the IP and TCP headers. If it is below what the
// connection sends, the send MSS drops to fit and what is in flight, which
// the path dropped, is sent again at once (RFC 1191 §6.4, RFC 8201 §5.4;
// Linux tcp_simple_retransmit), without a congestion response: the loss
// was not congestion. It returns whether the connection took the report.
func (c *Conn) PathMTU(now time.Time, quoted seq.Num, mss int) bool {
	if !c.icmpAccept(now, quoted, nil, mss) {
		return false
	}
	if c.pathMSS == 0 || mss < c.pathMSS {
		c.pathMSS = mss
	}
	if c.state == StateSynSent {
		// The peer's MSS is not known yet: negotiate applies pathMSS.
		c.icmpEvent(now, nil, mss, CausePMTU)
		return true
	}
	old := c.sndMSS
	c.setSndMSS(int(c.peerMSS()))
	c.icmpEvent(now, nil, mss, CausePMTU)
	if c.sndMSS >= old {
		return true
	}
	if m, ok := c.cc.(interface{ SetMSS(int) }); ok {
		m.SetMSS(c.sndMSS)
	}
	if c.sndMax.GreaterThan(c.dataStart()) && c.canSend() {
		c.timing = false // Karn's rule: the resent segments are not timed
		c.sndNxt = c.dataStart()
		c.resetLog() // resent in sequence order: RACK's times start afresh
		c.pmtuResend = true
		c.sendData(now)
		c.pmtuResend = false
	}
	return true
}

func (c *Conn) icmpEvent(now time.Time, err error, mss int, cause Cause) {
	if c.obs != nil {
		c.event(now, Event{Kind: EventICMP, Err: err, MSS: mss, Cause: cause})
	}
}

var errTimedOut error = syscall.ETIMEDOUT

// timeoutErr is the error a time-out reports: a soft error an ICMP message
// left, else ETIMEDOUT (Linux tcp_write_err).
func (c *Conn) timeoutErr() error {
	if c.softErr != nil {
		return c.softErr
	}
	return errTimedOut
}
