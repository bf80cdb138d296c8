//go:build synack_mutants

package tcp

import "time"

// See mutants_off.go. With the synack_mutants build tag these become
// switches that tests flip through SetMutant.
var (
	mutantTwoWayHandshake    bool
	mutantNoTimeWaitReack    bool
	mutantNoTimeWaitSeqCheck bool
	mutantNoFinRetransmit    bool
	mutantAnyRST             bool
	mutantSACKOverMTU        bool
	mutantLossWindowZero     bool
	mutantResendSACKed       bool
	mutantReassemblyGap      bool
	mutantTimeWaitScale      time.Duration = 1
)

// Mutants lists the broken variants SetMutant knows.
var Mutants = []string{"time-wait-zero", "no-fin-retransmit", "any-rst", "no-time-wait-seq-check", "no-time-wait-reack", "two-way-handshake", "sack-over-mtu",
	"loss-window-zero", "resend-sacked", "reassembly-gap"}

// SetMutant switches one broken variant on (or every one off with "").
func SetMutant(name string) {
	mutantTwoWayHandshake, mutantNoTimeWaitReack, mutantNoTimeWaitSeqCheck = false, false, false
	mutantNoFinRetransmit, mutantAnyRST, mutantTimeWaitScale = false, false, 1
	mutantSACKOverMTU = false
	mutantLossWindowZero, mutantResendSACKed, mutantReassemblyGap = false, false, false
	switch name {
	case "time-wait-zero":
		mutantTimeWaitScale = 0
	case "no-fin-retransmit":
		mutantNoFinRetransmit = true
	case "any-rst":
		mutantAnyRST = true
	case "no-time-wait-seq-check":
		mutantNoTimeWaitSeqCheck = true
	case "no-time-wait-reack":
		mutantNoTimeWaitReack = true
	case "two-way-handshake":
		mutantTwoWayHandshake = true
	case "sack-over-mtu":
		mutantSACKOverMTU = true
	case "loss-window-zero":
		mutantLossWindowZero = true
	case "resend-sacked":
		mutantResendSACKed = true
	case "reassembly-gap":
		mutantReassemblyGap = true
	}
}
