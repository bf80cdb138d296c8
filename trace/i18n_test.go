package trace

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/synack/synack/tcp"
)

func tcpTransitions() [][2]string {
	var out [][2]string
	for _, t := range tcp.Transitions {
		out = append(out, [2]string{t.From.String(), t.To.String()})
	}
	return out
}

// causeStrings parses the Go files matching glob and returns the string
// constants whose names start with prefix, the string values of the
// composite literals assigned to the variables named in vars, and the
// literal third argument of calls to the methods named in calls.
func causeStrings(t *testing.T, glob, prefix string, vars, calls []string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s: %v", glob, err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		lit := func(e ast.Expr) (string, bool) {
			bl, ok := e.(*ast.BasicLit)
			if !ok || bl.Kind != token.STRING {
				return "", false
			}
			s, err := strconv.Unquote(bl.Value)
			return s, err == nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if i >= len(n.Values) {
						continue
					}
					if prefix != "" && strings.HasPrefix(id.Name, prefix) {
						if s, ok := lit(n.Values[i]); ok {
							out[id.Name] = s
						}
					}
					for _, v := range vars {
						if id.Name != v {
							continue
						}
						if cl, ok := n.Values[i].(*ast.CompositeLit); ok {
							for k, el := range cl.Elts {
								if kv, ok := el.(*ast.KeyValueExpr); ok {
									el = kv.Value
								}
								if s, ok := lit(el); ok {
									out[v+"["+strconv.Itoa(k)+"]"] = s
								}
							}
						}
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && len(n.Args) >= 2 {
					for _, c := range calls {
						if sel.Sel.Name == c {
							if s, ok := lit(n.Args[len(n.Args)-1]); ok && s != "" {
								out[c+"("+s+")"] = s
							}
						}
					}
				}
			}
			return true
		})
	}
	return out
}

// TestChineseCauses: every cause (tcp.Cause: package tcp's and the
// stack's) has a Chinese translation, indexed by value, that keeps its
// reference; and the simulator's fault reasons have one too.
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
	faults := causeStrings(t, "../sim/*.go", "", nil, []string{"report", "lose"})
	if len(faults) < 4 {
		t.Fatalf("found only %d fault reasons in sim", len(faults))
	}
	for name, s := range faults {
		if zh := Translate(s, "zh"); zh == s || !hasCJK(zh) {
			t.Errorf("%s has no Chinese translation: %q", name, s)
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
