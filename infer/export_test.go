package infer

// DebugWorlds turns on printing of each end's histories.
func DebugWorlds(on bool) { debugWorlds = on }
