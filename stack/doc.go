// Package stack runs many TCP connections over one or more links: it
// demultiplexes segments by 4-tuple, keeps listeners with a SYN queue and an
// accept queue apart, answers floods with SYN cookies (RFC 4987 §3.6),
// chooses initial sequence numbers (RFC 6528) and ephemeral ports (RFC 6056),
// keeps TIME-WAIT connections as compact records, resets segments that match
// nothing (RFC 9293 §3.10.7.1), and drives every connection's timers from
// one priority queue.
//
// A Stack is single-threaded and does no blocking: every method takes the
// current time, and the caller — the simulator's loop, or package netconn's
// lock — guarantees that one goroutine at a time calls in. Half-open and
// TIME-WAIT records are run through the same tcp.Conn state machine as every
// other connection by restoring them into a scratch TCB.
package stack
