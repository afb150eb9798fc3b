package memory

// What objects really cost in Go's heap. Accounting the bytes a program
// asked for undercounts: the allocator rounds every object up to a size
// class (a 33-byte value takes 48), adds an 8-byte header to objects over
// 512 bytes that hold pointers, and rounds large objects up to whole
// 8 KiB pages. TestAllocMatchesRuntime checks Alloc against the runtime's
// own rounding (append's capacity growth) for every size up to 40 KiB.

// sizeClasses are Go's small-object size classes (runtime's
// internal/runtime/gc/sizeclasses.go, unchanged from Go 1.21 to 1.26).
var sizeClasses = [...]int64{0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

const (
	maxSmallSize = 32768
	pageSize     = 8192
	// Objects holding pointers and larger than this carry an 8-byte
	// header (Go 1.22's allocation headers).
	minSizeForHeader = 512
	mallocHeader     = 8
)

// Alloc is what one object of n bytes takes from the heap; pointers says
// whether it holds pointers (a slice of slices, a struct with slices), not
// bytes only.
func Alloc(n int64, pointers bool) int64 {
	if n <= 0 {
		return 0
	}
	if n <= maxSmallSize-mallocHeader {
		req := n
		if pointers && n > minSizeForHeader {
			req += mallocHeader
		}
		// The smallest class that fits.
		lo, hi := 1, len(sizeClasses)-1
		for lo < hi {
			mid := (lo + hi) / 2
			if sizeClasses[mid] >= req {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		return sizeClasses[lo]
	}
	// Large objects take whole pages.
	return (n + pageSize - 1) &^ (pageSize - 1)
}

// Bytes is the cost of a []byte (or string) backing array of capacity n.
func Bytes(n int) int64 { return Alloc(int64(n), false) }

// Slice is the cost of the backing array of a slice of n elements of
// elem bytes each; pointers as for Alloc.
func Slice(n int, elem int64, pointers bool) int64 { return Alloc(int64(n)*elem, pointers) }
