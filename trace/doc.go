// Package trace is the model of what happens in a run — segments sent,
// received, dropped and duplicated, state changes with the RFC rule that
// caused them, timers set, fired and cancelled, the applications' calls and
// their results — and its renderers: a terminal ladder diagram, JSON lines,
// an SVG ladder, and a self-contained HTML report. sim.Recorder records a
// simulated run as these events.
//
// Renderers read only []Event, so their output is a pure function of the
// run: the same seed gives byte-identical pictures.
package trace
