package stack

import (
	"crypto/rand"
	"encoding/binary"
	mrand "math/rand/v2"
	"time"

	"github.com/synack/synack/internal/siphash"
	"github.com/synack/synack/seq"
)

// secrets are a stack's keys: ISNs (RFC 6528), ephemeral ports (RFC 6056),
// timestamp offsets (RFC 7323 §5.4) and SYN cookies (RFC 4987).
type secrets struct {
	isn, port, ts, cookie1, cookie2 [16]byte
}

func newSecrets(seed uint64) secrets {
	var s secrets
	var all [80]byte
	if seed == 0 {
		rand.Read(all[:])
	} else {
		r := mrand.NewChaCha8([32]byte{0: byte(seed), 1: byte(seed >> 8), 2: byte(seed >> 16), 3: byte(seed >> 24),
			4: byte(seed >> 32), 5: byte(seed >> 40), 6: byte(seed >> 48), 7: byte(seed >> 56)})
		r.Read(all[:])
	}
	copy(s.isn[:], all[0:])
	copy(s.port[:], all[16:])
	copy(s.ts[:], all[32:])
	copy(s.cookie1[:], all[48:])
	copy(s.cookie2[:], all[64:])
	return s
}

// keyedHash is F() of RFC 6528 §3: a keyed hash of the 4-tuple (and an
// extra word), truncated to 32 bits. SipHash-2-4, as Linux's
// secure_tcp_seq and port offsets since 4.11: a PRF, and a twentieth of
// SHA-256's cost on a connection's few hashes.
func keyedHash(key *[16]byte, t *tuple, extra uint32) uint32 {
	var b [36 + 4]byte
	copy(b[0:16], t.laddr[:])
	copy(b[16:32], t.raddr[:])
	binary.BigEndian.PutUint16(b[32:], t.lport)
	binary.BigEndian.PutUint16(b[34:], t.rport)
	binary.BigEndian.PutUint32(b[36:], extra)
	return uint32(siphash.Sum64(key, b[:]))
}

// isn is RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport,
// secretkey), M a timer ticking every 4 µs.
func (s *Stack) isn(t *tuple, now time.Time) seq.Num {
	m := uint32(now.UnixNano() / int64(4*time.Microsecond))
	return seq.Num(m + keyedHash(&s.keys.isn, t, 0))
}

// tsOffset is RFC 7323 §5.4's per-connection random offset of TSval.
func (s *Stack) tsOffset(t *tuple) uint32 { return keyedHash(&s.keys.ts, t, 0) }
