package explore

import (
	"fmt"
	"strings"

	"github.com/synack/synack/tcp"
)

const numStates = 11 // RFC 9293's eleven states

// Coverage counts the state transitions runs went through, and the
// retransmissions by the rule that sent them, so that a report shows the
// loss-recovery invariants had something to check.
type Coverage struct {
	T [numStates][numStates]uint64
	// Retransmissions: by a retransmission timeout (RFC 6298 §5.4),
	// NewReno's fast retransmit and partial ACKs (RFC 5681 §3.2, RFC
	// 6582), RFC 6675 SACK recovery (RACK-marked, IsLost, NextSeg (3),
	// rescue), and tail loss probes (RFC 8985 §7.3, new data or not).
	RTO, Reno, SACK, Probes uint64
	// SACKChecked counts the data segments sent while the sender's view
	// of its peer's SACK blocks was not empty: each was checked.
	SACKChecked uint64
}

// retransmitted counts a segment sent for cause.
func (c *Coverage) retransmitted(cause tcp.Cause) {
	switch cause {
	case tcp.CauseRetransmit:
		c.RTO++
	case tcp.CauseFastRetransmit, tcp.CausePartialAck:
		c.Reno++
	case tcp.CauseRACKLost, tcp.CauseSACKLost, tcp.CauseSACKHole, tcp.CauseRescue:
		c.SACK++
	case tcp.CauseTLP, tcp.CauseTLPNewData:
		c.Probes++
	}
}

func (c *Coverage) add(from, to tcp.State) {
	if from < numStates && to < numStates {
		c.T[from][to]++
	}
}

// Merge adds o's counts to c.
func (c *Coverage) Merge(o *Coverage) {
	for i := range c.T {
		for j := range c.T[i] {
			c.T[i][j] += o.T[i][j]
		}
	}
	c.RTO += o.RTO
	c.Reno += o.Reno
	c.SACK += o.SACK
	c.Probes += o.Probes
	c.SACKChecked += o.SACKChecked
}

// States returns the states entered or left at least once.
func (c *Coverage) States() []tcp.State {
	var out []tcp.State
	for s := tcp.State(0); s < numStates; s++ {
		seen := false
		for o := tcp.State(0); o < numStates; o++ {
			if c.T[s][o] > 0 || c.T[o][s] > 0 {
				seen = true
			}
		}
		if seen {
			out = append(out, s)
		}
	}
	return out
}

// Covered returns the rows of tcp.Transitions taken at least once, and
// those never taken.
func (c *Coverage) Covered() (taken, missed []tcp.Transition) {
	for _, t := range tcp.Transitions {
		if c.T[t.From][t.To] > 0 {
			taken = append(taken, t)
		} else {
			missed = append(missed, t)
		}
	}
	return taken, missed
}

// String summarises the coverage: states, rows of the table taken, and
// the rows missed.
func (c *Coverage) String() string {
	var b strings.Builder
	taken, missed := c.Covered()
	fmt.Fprintf(&b, "states: %d/%d; transitions: %d/%d rows of the table", len(c.States()), numStates, len(taken), len(tcp.Transitions))
	if len(missed) > 0 {
		b.WriteString("; never taken:")
		for i, t := range missed {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %v→%v", t.From, t.To)
		}
	}
	fmt.Fprintf(&b, "; retransmissions: %d RTO, %d NewReno, %d SACK recovery, %d loss probes; %d segments checked against the peer's SACK blocks",
		c.RTO, c.Reno, c.SACK, c.Probes, c.SACKChecked)
	return b.String()
}

// Table writes every row of tcp.Transitions with how often it was taken.
func (c *Coverage) Table() string {
	var b strings.Builder
	for _, t := range tcp.Transitions {
		fmt.Fprintf(&b, "  %12d  %-12v → %-12v %s\n", c.T[t.From][t.To], t.From, t.To, t.When)
	}
	return b.String()
}
