// Package purity holds only a test: that the sans-IO core — packages seq,
// wire, tcp, stack, sim and internal/ip — reads no clock, starts no
// goroutine and takes no lock, so that every run is driven by the now its
// caller passes in and replays exactly.
package purity
