package explore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Action is the fate a schedule gives one segment.
type Action uint8

// The four fates, in the order of a schedule's base-4 digits.
const (
	Deliver Action = iota // delivered normally
	Drop                  // lost
	Dup                   // delivered twice, back to back
	Delay                 // held, then delivered right after the next segment sent
)

// NumActions is the number of fates: a schedule of length K is one of
// NumActions^K.
const NumActions = 4

var actionLetters = [NumActions]byte{'d', 'x', '2', 'l'}

var actionNames = [NumActions]string{"deliver", "drop", "duplicate", "delay past the next segment"}

func (a Action) String() string {
	if a < NumActions {
		return actionNames[a]
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Schedule gives the first len(s) segments put on the wire their fates;
// every later segment is delivered.
type Schedule []Action

// String writes the schedule one letter a segment: d deliver, x drop,
// 2 duplicate, l late (delay past the next segment).
func (s Schedule) String() string {
	b := make([]byte, len(s))
	for i, a := range s {
		b[i] = actionLetters[a]
	}
	return string(b)
}

// ParseSchedule parses the letters String writes, or base-4 digits
// (0 deliver, 1 drop, 2 duplicate, 3 delay).
func ParseSchedule(str string) (Schedule, error) {
	s := make(Schedule, 0, len(str))
	for i := 0; i < len(str); i++ {
		c := str[i]
		switch c {
		case 'd', 'D', '0', '.':
			s = append(s, Deliver)
		case 'x', 'X', '1':
			s = append(s, Drop)
		case '2', 'u', 'U':
			s = append(s, Dup)
		case 'l', 'L', '3':
			s = append(s, Delay)
		default:
			return nil, fmt.Errorf("schedule %q: %q at %d is not d (deliver), x (drop), 2 (duplicate) or l (delay)", str, c, i)
		}
	}
	return s, nil
}

// Faults counts the segments the schedule does not simply deliver.
func (s Schedule) Faults() int {
	n := 0
	for _, a := range s {
		if a != Deliver {
			n++
		}
	}
	return n
}

// Has reports whether the schedule uses action a.
func (s Schedule) Has(a Action) bool {
	for _, b := range s {
		if b == a {
			return true
		}
	}
	return false
}

// Trim drops trailing delivers: the schedule means the same without them.
func (s Schedule) Trim() Schedule {
	n := len(s)
	for n > 0 && s[n-1] == Deliver {
		n--
	}
	return s[:n:n]
}

// Count returns NumActions^k, the number of schedules of length k.
func Count(k int) uint64 {
	n := uint64(1)
	for range k {
		n *= NumActions
	}
	return n
}

// Nth writes into dst (which must have length k) the i-th schedule of
// length k: i's base-4 digits, the first segment's fate the least
// significant, so that consecutive schedules differ early.
func Nth(i uint64, dst Schedule) Schedule {
	for j := range dst {
		dst[j] = Action(i % NumActions)
		i /= NumActions
	}
	return dst
}

// Token is a one-line reproducer: a case and a schedule ("fourway:7:dddddx"),
// or a random workload's seed ("random:12345").
type Token struct {
	Case     string
	Schedule Schedule // exhaustive cases
	Seed     uint64   // random mode
}

// RandomCase is the Case name of random-mode tokens.
const RandomCase = "random"

func (t Token) String() string {
	if t.Case == RandomCase {
		return RandomCase + ":" + strconv.FormatUint(t.Seed, 10)
	}
	return t.Case + ":" + strconv.Itoa(len(t.Schedule)) + ":" + t.Schedule.String()
}

// ParseToken parses what Token.String writes. The length field may be
// omitted ("fourway:dddddx"); if given it must match the schedule, which
// may be shorter (trailing delivers left out).
func ParseToken(s string) (Token, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	bad := func(why string) (Token, error) {
		return Token{}, fmt.Errorf("token %q: %s (want CASE:K:SCHEDULE, e.g. fourway:7:dddddx, or random:SEED)", s, why)
	}
	if len(parts) < 2 || len(parts) > 3 {
		return bad("wrong number of fields")
	}
	if parts[0] == RandomCase {
		if len(parts) != 2 {
			return bad("random takes one field, the seed")
		}
		seed, err := strconv.ParseUint(parts[1], 10, 64)
		if err != nil {
			return bad("bad seed")
		}
		return Token{Case: RandomCase, Seed: seed}, nil
	}
	if _, ok := LookupCase(parts[0]); !ok {
		return bad("no case " + strconv.Quote(parts[0]) + "; cases: " + strings.Join(CaseNames(), ", "))
	}
	str := parts[len(parts)-1]
	sched, err := ParseSchedule(str)
	if err != nil {
		return Token{}, err
	}
	if len(parts) == 3 {
		k, err := strconv.Atoi(parts[1])
		if err != nil || k < 0 {
			return bad("bad K")
		}
		if len(sched) > k {
			return bad(fmt.Sprintf("schedule has %d letters, more than K = %d", len(sched), k))
		}
		for len(sched) < k {
			sched = append(sched, Deliver)
		}
	}
	return Token{Case: parts[0], Schedule: sched}, nil
}

var errNoCase = errors.New("explore: no such case")
