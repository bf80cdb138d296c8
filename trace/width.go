package trace

import "unicode"

// runeWidth is the number of terminal columns r takes: 2 for East Asian
// wide and fullwidth characters (Chinese text), 0 for combining marks and
// variation selectors, else 1. Ambiguous-width symbols (arrows, box
// drawing) count 1, as terminals outside legacy CJK modes draw them.
func runeWidth(r rune) int {
	switch {
	case r == 0 || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Cf, r),
		r >= 0xFE00 && r <= 0xFE0F:
		return 0
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0x303E, r >= 0x3041 && r <= 0x33FF,
		r >= 0x3400 && r <= 0x4DBF, r >= 0x4E00 && r <= 0x9FFF, r >= 0xA000 && r <= 0xA4CF,
		r >= 0xAC00 && r <= 0xD7A3, r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F,
		r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6,
		r >= 0x1F300 && r <= 0x1F64F, r >= 0x1F900 && r <= 0x1F9FF,
		r >= 0x20000 && r <= 0x3FFFD:
		return 2
	}
	return 1
}

// textWidth is the number of terminal columns s takes.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// truncate cuts s to at most w columns, ending it with an ellipsis when
// something was cut.
func truncate(s string, w int, ascii bool) string {
	if textWidth(s) <= w {
		return s
	}
	ell, ew := "…", 1
	if ascii {
		ell, ew = "...", 3
	}
	if w < ew {
		return ""
	}
	n := 0
	for i, r := range s {
		if n+runeWidth(r) > w-ew {
			return s[:i] + ell
		}
		n += runeWidth(r)
	}
	return s
}

// wrap breaks s into lines of at most w columns, at spaces where it can
// and anywhere in Chinese text, which has no spaces.
func wrap(s string, w int) []string {
	if w < 4 {
		w = 4
	}
	var lines []string
	rs := []rune(s)
	for len(rs) > 0 {
		n, cut, lastSpace := 0, len(rs), -1
		for i, r := range rs {
			if n+runeWidth(r) > w {
				cut = i
				break
			}
			if r == ' ' {
				lastSpace = i
			}
			n += runeWidth(r)
		}
		if cut < len(rs) && lastSpace > 0 && runeWidth(rs[cut]) == 1 && lastSpace > cut/2 {
			cut = lastSpace
		}
		lines = append(lines, string(rs[:cut]))
		rs = rs[cut:]
		for len(rs) > 0 && rs[0] == ' ' {
			rs = rs[1:]
		}
	}
	return lines
}
