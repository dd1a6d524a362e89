//go:build isal && cgo

package orc

/*
#cgo LDFLAGS: -lisal
#include <stdlib.h>
#include <isa-l/igzip_lib.h>

// s3bk_orc_inflate decompresses the raw deflate stream in[0:in_len] into
// out[0:out_len] in one call. It reports the bytes made and whether the
// stream's final block was reached, then clears the stream pointers so
// that no Go pointer outlives the call.
static int s3bk_orc_inflate(struct inflate_state *s, unsigned char *in, unsigned int in_len,
		unsigned char *out, unsigned int out_len, unsigned int *made, int *done) {
	isal_inflate_init(s);
	s->crc_flag = ISAL_DEFLATE;
	s->next_in = in;
	s->avail_in = in_len;
	s->next_out = out;
	s->avail_out = out_len;
	int ret = isal_inflate_stateless(s);
	*made = out_len - s->avail_out;
	*done = s->block_state == ISAL_BLOCK_FINISH || s->block_state == ISAL_BLOCK_INPUT_DONE;
	s->next_in = NULL;
	s->avail_in = 0;
	s->next_out = NULL;
	s->avail_out = 0;
	return ret;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// InflateImpl names the ZLIB (raw deflate) decoder this build uses:
// "klauspost" (pure Go, the default) or "isa-l" (built with -tags isal
// and cgo).
const InflateImpl = "isa-l"

// isalState is an ISA-L inflate state in C memory, freed when the Go
// value is collected.
type isalState struct{ st *C.struct_inflate_state }

var isalStates sync.Pool // of *isalState

func getISALState() (*isalState, error) {
	if s, ok := isalStates.Get().(*isalState); ok {
		return s, nil
	}
	st := (*C.struct_inflate_state)(C.malloc(C.size_t(unsafe.Sizeof(C.struct_inflate_state{}))))
	if st == nil {
		return nil, errors.New("isa-l: out of memory")
	}
	s := &isalState{st: st}
	runtime.AddCleanup(s, func(st *C.struct_inflate_state) { C.free(unsafe.Pointer(st)) }, st)
	return s, nil
}

// inflate appends the raw-deflate decompression of chunk to dst, refusing
// to produce more than limit bytes (errChunkTooBig), with Intel ISA-L's
// igzip: several times faster than the pure-Go decoder, and it writes
// straight into dst. Every stream inflateGo decodes it decodes to the same
// bytes (FuzzInflateISAL checks this); it is more lenient with some
// corrupt streams (Huffman tables that zlib rejects as incomplete), which
// then decode to garbage rather than fail: ORC chunks carry no checksum,
// so only the data file's MD5 (see inventory.VerifyObject) tells.
func inflate(dst, chunk []byte, limit int) ([]byte, error) {
	if len(chunk) == 0 {
		return dst, errors.New("isa-l: empty deflate stream")
	}
	if len(chunk) > 1<<30 || limit > 1<<30 {
		return inflateGo(dst, chunk, limit)
	}
	s, err := getISALState()
	if err != nil {
		return dst, err
	}
	defer isalStates.Put(s)
	// Decode into the room dst has (the stripe reader sizes it from the
	// chunk headers); if that is too small for the output, grow dst to
	// the limit and decode again.
	start := len(dst)
	if cap(dst)-start < min(limit+1, 4*len(chunk)+4096) {
		dst = grow(dst, min(limit+1, 8*len(chunk)+4096))
	}
	for {
		room := min(cap(dst)-start, limit+1)
		out := dst[start : start+room]
		var made C.uint
		var done C.int
		ret := C.s3bk_orc_inflate(s.st, (*C.uchar)(unsafe.Pointer(&chunk[0])), C.uint(len(chunk)),
			(*C.uchar)(unsafe.Pointer(&out[0])), C.uint(len(out)), &made, &done)
		switch {
		case ret == C.ISAL_OUT_OVERFLOW && room <= limit:
			dst = grow(dst[:start], limit+1)
			continue
		case ret == C.ISAL_OUT_OVERFLOW || int(made) > limit:
			return dst[:start], errChunkTooBig
		case ret != C.ISAL_DECOMP_OK || done == 0:
			return dst[:start], fmt.Errorf("isa-l inflate error %d", int(ret))
		}
		return dst[:start+int(made)], nil
	}
}
