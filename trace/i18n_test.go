package trace

import (
	"strings"
	"testing"

	"github.com/synack/synack/link"
	"github.com/synack/synack/tcp"
)

func tcpTransitions() [][2]string {
	var out [][2]string
	for _, t := range tcp.Transitions {
		out = append(out, [2]string{t.From.String(), t.To.String()})
	}
	return out
}

// TestChineseCauses: every cause (tcp.Cause: package tcp's and the
// stack's) has a Chinese translation, indexed by value, that keeps its
// reference; and every fault (link.Fault) has one too.
func TestChineseCauses(t *testing.T) {
	for c := tcp.Cause(1); int(c) < tcp.NumCauses; c++ {
		zh := Translate(c.String(), "zh")
		if zhCauses[c] == "" || zh != zhCauses[c] || !hasCJK(zh) {
			t.Errorf("cause %d (%s) has no Chinese translation: %q", c, c, zh)
		}
		if ref := c.Ref(); ref != "" {
			// The reference up to its first section: the rest ("Note 3",
			// "Figure 7") is translated.
			head := ref
			if i := strings.Index(ref, "§"); i >= 0 {
				if j := strings.IndexAny(ref[i:], " ,("); j > 0 {
					head = ref[:i+j]
				}
			}
			if zref, _ := tcp.SplitCause(zh); !strings.HasPrefix(zref, head) {
				t.Errorf("%s: the translation lost the reference %q: %q", c, head, zh)
			}
		}
	}
	for f := link.Fault(1); int(f) < link.NumFaults; f++ {
		if zh := Translate(f.String(), "zh"); zh == f.String() || !hasCJK(zh) {
			t.Errorf("fault %q has no Chinese translation: %q", f, zh)
		}
	}
}

func hasCJK(s string) bool {
	for _, r := range s {
		if runeWidth(r) == 2 {
			return true
		}
	}
	return false
}

func TestTranslate(t *testing.T) {
	if got := Translate(tcp.CauseCloseFIN.String(), "en"); got != tcp.CauseCloseFIN.String() {
		t.Errorf("English changed the cause: %q", got)
	}
	if got := Translate("script: lose A's first FIN", "zh"); got != "script: lose A's first FIN" {
		t.Errorf("an unknown string changed: %q", got)
	}
	if got := Translate("refused by B", "zh"); got != "被 B 拒收" {
		t.Errorf("refused by B → %q", got)
	}
	if got := Translate("TIME-WAIT", "zh"); got != "TIME-WAIT" {
		t.Errorf("state names stay in RFC spelling, got %q", got)
	}
	// the renderers' own words exist in both languages
	for key, v := range uiText {
		if v[0] == "" || v[1] == "" {
			t.Errorf("ui %q lacks a language", key)
		}
		if !hasCJK(v[1]) && !strings.Contains(v[1], "秒") && v[0] == v[1] {
			t.Errorf("ui %q is not translated: %q", key, v[1])
		}
	}
	o := Options{Lang: "zh"}
	if got := o.ui("no such key"); got != "no such key" {
		t.Errorf("unknown ui key → %q", got)
	}
}
