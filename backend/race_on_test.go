//go:build race

package backend

// raceEnabled: the race detector turns off the allocator's packing of
// small strings into 16-byte blocks (runtime/malloc.go), so each one
// takes a block of its own and heap measurements come out a few percent
// higher than in the proxy's normal build.
const raceEnabled = true
