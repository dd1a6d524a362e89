//go:build unix

package manifest

import (
	"syscall"
	"testing"
)

// TestKeptPrefixPageEdges puts strings right after and right before an
// inaccessible page, so that a read outside s faults instead of going
// unnoticed.
func TestKeptPrefixPageEdges(t *testing.T) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 3*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(mem)
	for _, guard := range [][]byte{mem[:page], mem[2*page:]} {
		if err := syscall.Mprotect(guard, syscall.PROT_NONE); err != nil {
			t.Skipf("mprotect: %v", err)
		}
	}
	mid := mem[page : 2*page]
	copy(mid, kept(page))
	forEachPath(t, func(t *testing.T) {
		for n := 0; n <= 200; n++ {
			for _, s := range [][]byte{mid[:n], mid[page-n:]} {
				checkEncoded(t, s)
				if n > 0 {
					// The byte to escape first, then last, next to the
					// guard pages.
					for _, i := range []int{0, n - 1} {
						c := s[i]
						s[i] = '?'
						checkEncoded(t, s)
						s[i] = c
					}
				}
			}
		}
	})
}
