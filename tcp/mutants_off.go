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
	mutantLossWindowZero     = false // a retransmission timeout leaves a congestion window of 0, not 1 SMSS
	mutantResendSACKed       = false // NextSeg (1) resends a lost hole and then the segment after it, SACKed or not
	mutantReassemblyGap      = false // the receiver takes out-of-order data as in order across a hole
	mutantTimeWaitScale      = 1     // 0 makes TIME-WAIT last no time at all
)
