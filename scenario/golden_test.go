package scenario

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/synack/synack/trace"
)

var update = flag.Bool("update", false, "rewrite the golden ladders in testdata/ (never the expectations)")

// The text ladder of every scenario is a golden file: a run is a pure
// function of (scenario, seed, code), so any change to what a scenario
// shows is a reviewed diff. -update rewrites the pictures; the
// expectations live in the code and are checked by TestCatalogue.
func TestGoldenLadders(t *testing.T) {
	for _, s := range All() {
		t.Run(s.Name, func(t *testing.T) {
			r := Run(s, Params{})
			var b bytes.Buffer
			if err := trace.Text(&b, r.Events, trace.Options{Title: s.Name, Description: s.Doc}); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "ladder", s.Name+".txt"), b.Bytes(), "the ladder of "+s.Name, "TestGoldenLadders")
		})
	}
}

// The JSON trace of every scenario is a golden file too: it holds every
// event with its cause and the raw header fields, so a redesign that must
// keep behaviour (causes as values, one fault engine, the recorder moved)
// shows any change here, byte for byte.
func TestGoldenJSON(t *testing.T) {
	for _, s := range All() {
		t.Run(s.Name, func(t *testing.T) {
			r := Run(s, Params{})
			var b bytes.Buffer
			if err := trace.WriteJSON(&b, r.Events); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "json", s.Name+".jsonl"), b.Bytes(), "the JSON trace of "+s.Name, "TestGoldenJSON")
		})
	}
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte, what, test string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scenario -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed; if that is intended, run go test ./scenario -run %s -update and review the diff", what, test)
	}
}

// The JSON trace of every scenario reads back to the same events.
func TestJSONRoundTrip(t *testing.T) {
	for _, s := range All() {
		r := Run(s, Params{})
		var b bytes.Buffer
		if err := trace.WriteJSON(&b, r.Events); err != nil {
			t.Fatal(err)
		}
		back, err := trace.ReadJSON(b.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		var again bytes.Buffer
		trace.WriteJSON(&again, back)
		if !bytes.Equal(b.Bytes(), again.Bytes()) || len(back) != len(r.Events) {
			t.Fatalf("%s: JSON does not round-trip", s.Name)
		}
	}
}
