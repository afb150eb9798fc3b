package memory

import (
	"runtime"
	"testing"
)

// Alloc agrees with the runtime's own rounding, read from the capacity
// append gives a fresh slice (growslice rounds it up to what the
// allocator hands out): bytes (no pointers) and pointer arrays (which get
// the allocation header past 512 bytes), for every size up to 2 KiB and,
// up to 48 KiB, every size class boundary and every 56th size.
func TestAllocMatchesRuntime(t *testing.T) {
	var sizes []int
	for n := 1; n <= 48<<10; n++ {
		if n <= 2048 || n%56 == 0 {
			sizes = append(sizes, n)
		}
	}
	for _, c := range sizeClasses {
		sizes = append(sizes, int(c)-1, int(c), int(c)+1)
	}
	src := make([]byte, 48<<10+1)
	ptrs := make([]*byte, 6<<10+1)
	for _, n := range sizes {
		if n <= 0 {
			continue
		}
		got := cap(append([]byte(nil), src[:n]...))
		if want := Alloc(int64(n), false); int64(got) != want {
			t.Fatalf("%d bytes: the runtime gives %d, Alloc says %d", n, got, want)
		}
		if n%8 != 0 {
			continue
		}
		k := n / 8
		usable := int64(8 * cap(append([]*byte(nil), ptrs[:k]...)))
		if int64(n) > minSizeForHeader && int64(n) <= maxSmallSize-mallocHeader {
			usable += mallocHeader // growslice reports the class less the header
		}
		if want := Alloc(int64(n), true); usable != want {
			t.Fatalf("%d pointers (%d bytes): the runtime's object is %d bytes, Alloc says %d", k, n, usable, want)
		}
	}
}

// Holding N objects grows the heap by what Alloc says, within 2%.
func TestAllocMatchesHeapGrowth(t *testing.T) {
	// Anything else that allocates meanwhile (the runtime, the testing
	// package) only adds to HeapAlloc's growth, so the smallest growth
	// of a few trials is the one that measures these objects alone.
	for _, size := range []int{33, 200, 700, 5000, 40000} {
		const n, trials = 2000, 5
		want := n * Alloc(int64(size), false)
		grown := int64(-1)
		for range trials {
			hold := make([][]byte, n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range hold {
				hold[i] = make([]byte, size)
			}
			runtime.ReadMemStats(&after)
			if g := int64(after.HeapAlloc - before.HeapAlloc); grown < 0 || g < grown {
				grown = g
			}
			runtime.KeepAlive(hold)
		}
		if d := grown - want; d < -want/50 || d > want/50 {
			t.Errorf("%d objects of %d bytes grew the heap by %d (least of %d trials), Alloc says %d", n, size, grown, trials, want)
		}
	}
}
