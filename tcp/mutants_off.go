//go:build !synack_mutants

package tcp

// Deliberately broken variants of the core, used only by the explorer's
// mutation tests (build tag synack_mutants). In a normal build they are
// constants, so the compiler removes every trace of them.
const (
	mutantTwoWayHandshake    = false // SYN-RECEIVED accepts any ACK
	mutantNoTimeWaitReack    = false // TIME-WAIT ignores a retransmitted FIN
	mutantNoTimeWaitSeqCheck = false // TIME-WAIT delivers stray data
	mutantNoFinRetransmit    = false // a lost FIN is never sent again
	mutantAnyRST             = false // any in-window RST resets (no RFC 5961)
	mutantSACKOverMTU        = false // SACK blocks ride on full-sized data segments
	mutantTimeWaitScale      = 1     // 0 makes TIME-WAIT last no time at all
)
