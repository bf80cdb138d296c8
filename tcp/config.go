package tcp

import "time"

// Config holds the settings of a connection. The zero value of every field
// means its default, which follows Linux (DESIGN.md "Time and timers"); a
// Config is shared by many connections and must not change while they run.
type Config struct {
	MSS    uint16 // MSS we advertise; default 1460
	RcvBuf int    // receive buffer, bytes; default 256 KiB
	SndBuf int    // send buffer, bytes; default 256 KiB

	WindowScaling Switch // RFC 7323 §2 window scaling (Linux tcp_window_scaling); default On
	Timestamps    Switch // RFC 7323 §3 timestamps (Linux tcp_timestamps); default On
	SACK          Switch // RFC 2018 SACK-permitted (Linux tcp_sack); default On
	RACK          Switch // RFC 8985 RACK loss detection when SACK is in use (Linux tcp_recovery bit 1); Off: RFC 6675 IsLost; default On
	TLP           Switch // RFC 8985 §7 tail loss probes with RACK (Linux tcp_early_retrans 3); default On

	RTOInitial time.Duration // RFC 6298 §2.1; default 1 s
	RTOMin     time.Duration // RFC 6298 §2.4; default 200 ms (Linux)
	RTOMax     time.Duration // RFC 6298 §2.5; default 120 s

	SynRetries    int // SYN retransmissions before ETIMEDOUT; default 6
	SynAckRetries int // SYN+ACK retransmissions before giving up; default 5
	Retries       int // data/FIN retransmissions (Linux tcp_retries2); default 15
	OrphanRetries int // the same for an orphaned connection; default 8

	MSL             time.Duration // TIME-WAIT lasts 2*MSL; default 30 s (Linux's 60 s TIME-WAIT)
	FinWait2Timeout time.Duration // FIN-WAIT-2 of an orphan (Linux tcp_fin_timeout); default 60 s

	KeepAlive           bool          // RFC 1122 §4.2.3.6: off unless set
	KeepIdle            time.Duration // default 2 h
	KeepInterval        time.Duration // default 75 s
	KeepCount           int           // default 9
	UserTimeout         time.Duration // RFC 5482; 0 = none
	DelayedACK          time.Duration // RFC 1122 §4.2.3.2 (≤ 500 ms); default 40 ms (Linux's minimum)
	NoDelay             bool          // disable Nagle's algorithm (RFC 896)
	ChallengeACK        time.Duration // RFC 5961 §7 rate limit: one per this interval; default 500 ms
	RFC793Rules         bool          // RFC 793's rules, not RFC 5961's: any in-window RST resets, an in-window SYN aborts, any old ACK is taken
	RFC1337             bool          // ignore RST in TIME-WAIT (RFC 1337 §3 fix 1); default off, as Linux
	ZeroWindowProbeData bool          // probe with one byte of data instead of Linux's empty segment at SND.UNA-1
	MaxOutOfOrder       int           // out-of-order ranges kept; default 32

	// CongestionControl names the congestion control (Linux
	// tcp_congestion_control); default cubic.
	CongestionControl CongestionControl
	// Congestion, if set, makes each connection's congestion control and
	// overrides CongestionControl.
	Congestion func(mss int) Congestion
}

// Switch is a setting that is on unless turned Off, as its Linux sysctl
// is by default; On is its zero value, so a zero Config keeps it on.
type Switch uint8

const (
	On  Switch = iota // offered and accepted (the default)
	Off               // neither offered nor accepted
)

// Enabled reports whether s is On.
func (s Switch) Enabled() bool { return s != Off }

func (s Switch) String() string {
	if s == Off {
		return "off"
	}
	return "on"
}

// Defaults returns c with every zero field replaced by its default.
func (c Config) Defaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defi := func(i *int, v int) {
		if *i == 0 {
			*i = v
		}
	}
	if c.MSS == 0 {
		c.MSS = 1460
	}
	defi(&c.RcvBuf, 256<<10)
	defi(&c.SndBuf, 256<<10)
	def(&c.RTOInitial, time.Second)
	def(&c.RTOMin, 200*time.Millisecond)
	def(&c.RTOMax, 120*time.Second)
	defi(&c.SynRetries, 6)
	defi(&c.SynAckRetries, 5)
	defi(&c.Retries, 15)
	defi(&c.OrphanRetries, 8)
	def(&c.MSL, 30*time.Second)
	def(&c.FinWait2Timeout, 60*time.Second)
	def(&c.KeepIdle, 2*time.Hour)
	def(&c.KeepInterval, 75*time.Second)
	defi(&c.KeepCount, 9)
	def(&c.DelayedACK, 40*time.Millisecond)
	def(&c.ChallengeACK, 500*time.Millisecond)
	defi(&c.MaxOutOfOrder, 32)
	if c.Congestion == nil {
		c.Congestion = c.CongestionControl.New()
	}
	return c
}
