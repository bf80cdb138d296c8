package stack

import "github.com/synack/synack/tcp"

// Drop is why the stack discarded a packet.
type Drop uint8

// Drop reasons.
const (
	DropMalformed       Drop = iota // failed to parse or checksum
	DropFragment                    // an IP fragment refused by reassembly (overlap, too big, no room)
	DropNotTCP                      // another protocol
	DropNotOurs                     // addressed to someone else
	DropNoConn                      // matched nothing (answered with RST)
	DropRSTNoConn                   // a RST that matched nothing (never answered)
	DropSynQueueFull                // SYN while the SYN queue is full, cookies off
	DropAcceptQueueFull             // SYN or final ACK while the accept queue is full
	DropForwarderFull               // SYN while the forwarder has too many in flight
	DropNoRoute                     // no link owns the source address
	DropICMP                        // an ICMP message TCP does not act on, or quoting no connection
	DropListen                      // dropped by LISTEN's rules: a SYN+FIN, or neither SYN, ACK nor RST
	numDrops
)

var dropNames = [numDrops]string{"malformed", "fragment", "not-tcp", "not-ours", "no-connection", "rst-no-connection",
	"syn-queue-full", "accept-queue-full", "forwarder-full", "no-route", "icmp-ignored", "listen-dropped"}

// dropCauses say, for the traces, why a segment was dropped.
var dropCauses = [numDrops]tcp.Cause{
	DropNoConn:          tcp.CauseDropNoConn,
	DropRSTNoConn:       tcp.CauseDropRSTNoConn,
	DropSynQueueFull:    tcp.CauseDropSynQueueFull,
	DropAcceptQueueFull: tcp.CauseDropAcceptQueueFull,
	DropForwarderFull:   tcp.CauseDropForwarderFull,
}

func (d Drop) String() string {
	if d < numDrops {
		return dropNames[d]
	}
	return "Drop(?)"
}

// Counters are the stack's TCP-MIB counters (RFC 4022 §3) and the drops.
type Counters struct {
	ActiveOpens, PassiveOpens, AttemptFails, EstabResets uint64
	CurrEstab                                            int64
	InSegs, OutSegs, RetransSegs, InErrs, OutRsts        uint64

	SynCookiesSent, SynCookiesRecv, SynCookiesFailed uint64
	ListenOverflows, TimeWaitOverflows               uint64

	// ICMP (RFC 4293 icmpStatsTable; Linux's OutOfWindowIcmps): messages
	// in, those malformed, messages out (echo replies, time exceeded),
	// errors refused by the RFC 5927 check, and path MTUs learnt.
	ICMPInMsgs, ICMPInErrors, ICMPOutMsgs uint64
	ICMPOutOfWindow, PathMTUChanges       uint64

	// Reassembly (RFC 4293 ipSystemStatsReasm*): fragments received,
	// datagrams rebuilt, datagrams (or lone fragments) given up, and of
	// those the datagrams that timed out.
	ReasmReqds, ReasmOKs, ReasmFails, ReasmTimeouts uint64

	// Loss recovery (Linux nstat's TcpExt counters: TCPSackRecovery,
	// TCPLossProbes, TCPDSACKUndo...): every connection's, summed as
	// they count.
	Loss tcp.LossStats

	Drops [numDrops]uint64
}

func (c *Counters) drop(d Drop) { c.Drops[d]++ }

// transition keeps the RFC 4022 counters that follow state changes.
func (c *Counters) transition(from, to tcp.State) {
	estab := func(s tcp.State) bool { return s == tcp.StateEstablished || s == tcp.StateCloseWait }
	switch {
	case from == tcp.StateClosed && to == tcp.StateSynSent:
		c.ActiveOpens++
	case from == tcp.StateListen && to == tcp.StateSynReceived:
		c.PassiveOpens++
	case (from == tcp.StateSynSent || from == tcp.StateSynReceived) && (to == tcp.StateClosed || to == tcp.StateListen):
		c.AttemptFails++ // RFC 4022 tcpAttemptFails
	case estab(from) && to == tcp.StateClosed:
		c.EstabResets++ // tcpEstabResets
	}
	if estab(to) && !estab(from) {
		c.CurrEstab++
	}
	if estab(from) && !estab(to) {
		c.CurrEstab--
	}
}

// Counters returns a copy of the counters.
func (s *Stack) Counters() Counters {
	c := s.stats
	c.Loss = s.io.LossStats() // every TCB of the stack shares s.io (initTCB)
	return c
}

// DropNames lists the drop reasons in order, for reports.
func DropNames() []string { return dropNames[:] }

// Add adds o's counts to c: a Group's counters are its shards' summed.
func (c *Counters) Add(o *Counters) {
	c.ActiveOpens += o.ActiveOpens
	c.PassiveOpens += o.PassiveOpens
	c.AttemptFails += o.AttemptFails
	c.EstabResets += o.EstabResets
	c.CurrEstab += o.CurrEstab
	c.InSegs += o.InSegs
	c.OutSegs += o.OutSegs
	c.RetransSegs += o.RetransSegs
	c.InErrs += o.InErrs
	c.OutRsts += o.OutRsts
	c.SynCookiesSent += o.SynCookiesSent
	c.SynCookiesRecv += o.SynCookiesRecv
	c.SynCookiesFailed += o.SynCookiesFailed
	c.ListenOverflows += o.ListenOverflows
	c.TimeWaitOverflows += o.TimeWaitOverflows
	c.ICMPInMsgs += o.ICMPInMsgs
	c.ICMPInErrors += o.ICMPInErrors
	c.ICMPOutMsgs += o.ICMPOutMsgs
	c.ICMPOutOfWindow += o.ICMPOutOfWindow
	c.PathMTUChanges += o.PathMTUChanges
	c.ReasmReqds += o.ReasmReqds
	c.ReasmOKs += o.ReasmOKs
	c.ReasmFails += o.ReasmFails
	c.ReasmTimeouts += o.ReasmTimeouts
	c.Loss.Add(&o.Loss)
	for i := range c.Drops {
		c.Drops[i] += o.Drops[i]
	}
}
