package purity

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// pure are the packages, relative to the module root, that must stay pure.
var pure = []string{"seq", "wire", "tcp", "stack", "sim", "internal/ip"}

// clock are the functions of package time that read the clock or start a
// timer; time.Time, time.Duration and time.Unix are values and allowed.
var clock = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"Tick": true, "NewTimer": true, "NewTicker": true, "AfterFunc": true,
}

// locks are the imports that mean shared-memory concurrency.
var locks = map[string]bool{"sync": true, "sync/atomic": true}

// violations returns what in one parsed file breaks purity, as
// "file:line: what".
func violations(fset *token.FileSet, f *ast.File) []string {
	var out []string
	report := func(p token.Pos, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(p), fmt.Sprintf(format, args...)))
	}
	timeName := ""
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		if locks[path] {
			report(im.Pos(), "imports %q", path)
		}
		if path != "time" {
			continue
		}
		timeName = "time"
		if im.Name != nil {
			timeName = im.Name.Name
		}
		if timeName == "." {
			report(im.Pos(), `dot-imports "time"`)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n.Pos(), "go statement")
		case *ast.SelectorExpr:
			// A use of time.Now as a value counts as much as a call. An
			// identifier the parser resolved to a local object is not the
			// package.
			if x, ok := n.X.(*ast.Ident); ok && timeName != "" && x.Name == timeName && x.Obj == nil && clock[n.Sel.Name] {
				report(n.Pos(), "time.%s", n.Sel.Name)
			}
		}
		return true
	})
	return out
}

// moduleRoot finds the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// TestCorePure parses every non-test file of the pure packages, whatever
// its build tags, and fails on a clock read, a goroutine or a lock.
func TestCorePure(t *testing.T) {
	root := moduleRoot(t)
	for _, pkg := range pure {
		files, err := filepath.Glob(filepath.Join(root, pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(files)
		n := 0
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			n++
			for _, v := range violations(fset, f) {
				rel, _ := filepath.Rel(root, v)
				t.Errorf("%s (the core is sans-IO: take now from the caller)", rel)
			}
		}
		if n == 0 {
			t.Errorf("package %s: no source files found under %s", pkg, root)
		}
	}
}

// TestViolations shows that the check finds each kind of impurity, and
// lets pass what is allowed.
func TestViolations(t *testing.T) {
	const src = `package p

import (
	"sync"
	_ "sync/atomic"
	clock "time"
)

var mu sync.Mutex
var now = clock.Now

func f() {
	go f()
	clock.Sleep(clock.Second)
	_ = clock.Since(clock.Time{})
	_ = clock.Unix(0, 0)
}

func g(clock struct{ Now int }) int { return clock.Now }
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(violations(fset, f), "\n")
	want := strings.Join([]string{
		`p.go:4:2: imports "sync"`,
		`p.go:5:2: imports "sync/atomic"`,
		`p.go:10:11: time.Now`,
		`p.go:13:2: go statement`,
		`p.go:14:2: time.Sleep`,
		`p.go:15:6: time.Since`,
	}, "\n")
	if got != want {
		t.Errorf("violations:\n%s\nwant:\n%s", got, want)
	}
}
