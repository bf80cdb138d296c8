// Package wire parses and serializes IPv4, IPv6 and TCP headers with their
// options, and computes Internet checksums (RFC 1071) with the IPv4 and IPv6
// pseudo-headers.
//
// Parsing produces views over the caller's bytes and never allocates;
// serialization appends to a caller's buffer. Malformed input yields a typed
// error and never a panic.
package wire
