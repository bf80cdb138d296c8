// Package trace is the model of what happens in a run — segments sent,
// received, dropped and duplicated, state changes with the RFC rule that
// caused them, timers set, fired and cancelled, the applications' calls and
// their results — and its renderers: a terminal ladder diagram, JSON lines,
// an SVG ladder, and a self-contained HTML report. Package trace/record
// records a run as these events: a simulated one (sim.Recording) or any
// stack's (Recorder.StackObserver).
//
// Renderers read only []Event, so their output is a pure function of the
// run: the same seed gives byte-identical pictures.
package trace
