package stack

import (
	"time"

	"github.com/synack/synack/tcp"
)

// CookieMode says when SYN cookies are used (RFC 4987 §3.6).
type CookieMode uint8

// Cookie modes, as Linux's tcp_syncookies 1, 2 and 0.
const (
	CookiesAuto   CookieMode = iota // only when the SYN queue is full
	CookiesAlways                   // for every SYN
	CookiesNever                    // never: a full SYN queue drops SYNs
)

func (m CookieMode) String() string {
	switch m {
	case CookiesAuto:
		return "auto"
	case CookiesAlways:
		return "always"
	case CookiesNever:
		return "never"
	}
	return "CookieMode(?)"
}

// ParseCookieMode parses "auto", "always" or "never".
func ParseCookieMode(s string) (CookieMode, bool) {
	for m := CookiesAuto; m <= CookiesNever; m++ {
		if m.String() == s {
			return m, true
		}
	}
	return 0, false
}

// TWReuse says when Dial may reuse a 4-tuple still in TIME-WAIT, like
// Linux's net.ipv4.tcp_tw_reuse.
type TWReuse uint8

// TIME-WAIT reuse modes.
const (
	TWReuseLoopback TWReuse = iota // only for loopback peers (Linux default 2)
	TWReuseOff                     // never (0)
	TWReuseOn                      // whenever timestamps show it is safe (1)
)

// Config holds a stack's settings. Zero values mean the defaults.
type Config struct {
	TCP tcp.Config // per-connection settings

	Backlog     int        // default listen backlog (accept queue); default 128
	SynBacklog  int        // SYN queue bound per listener; default max(backlog, 128)
	SynCookies  CookieMode // default auto
	TimeWaitMax int        // TIME-WAIT records kept; default 262144 (Linux tcp_max_tw_buckets)
	TWReuse     TWReuse    // default loopback-only

	EphemeralLow, EphemeralHigh uint16 // default 32768–60999 (Linux)

	// Seed makes ISNs, cookies, ports and timestamp offsets reproducible;
	// zero means a random key (production).
	Seed uint64

	// Observer receives segment and connection events; may be nil.
	Observer Observer

	// ForwarderMaxInFlight bounds handshakes handed to a Forwarder and not
	// yet completed or refused; default 1024.
	ForwarderMaxInFlight int

	// ReasmMaxBytes bounds the memory IP fragments awaiting reassembly
	// may hold; the oldest datagrams go first. Default 4 MiB (Linux
	// ipfrag_high_thresh).
	ReasmMaxBytes int
	// ReasmTimeout is how long a fragmented datagram may take to arrive
	// whole, from its first fragment; default 30 s (Linux ipfrag_time).
	ReasmTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.TCP.MSS == 0 {
		// No clamp: each connection's MSS comes from its link's MTU
		// (routeMSS), 65495 on a 65535-byte link as Linux's loopback.
		c.TCP.MSS = 0xffff
	}
	c.TCP = c.TCP.Defaults()
	if c.Backlog <= 0 {
		c.Backlog = 128
	}
	if c.SynBacklog <= 0 {
		c.SynBacklog = max(c.Backlog, 128)
	}
	if c.TimeWaitMax <= 0 {
		c.TimeWaitMax = 262144
	}
	if c.EphemeralLow == 0 && c.EphemeralHigh == 0 {
		c.EphemeralLow, c.EphemeralHigh = 32768, 60999
	}
	if c.ForwarderMaxInFlight <= 0 {
		c.ForwarderMaxInFlight = 1024
	}
	if c.ReasmMaxBytes <= 0 {
		c.ReasmMaxBytes = 4 << 20
	}
	if c.ReasmTimeout <= 0 {
		c.ReasmTimeout = 30 * time.Second
	}
	return c
}

// twLife is how long a TIME-WAIT record lives.
func (c *Config) twLife() time.Duration { return 2 * c.TCP.MSL }
