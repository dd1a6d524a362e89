//go:build isal && cgo

package inventory

/*
#cgo LDFLAGS: -lisal
#include <stdlib.h>
#include <isa-l/igzip_lib.h>

static struct inflate_state *s3bk_inflate_new(void) {
	struct inflate_state *s = malloc(sizeof(struct inflate_state));
	if (s) {
		isal_inflate_init(s);
		s->crc_flag = ISAL_GZIP;
	}
	return s;
}

static void s3bk_inflate_reset(struct inflate_state *s) {
	isal_inflate_reset(s);
	s->crc_flag = ISAL_GZIP;
}

// s3bk_inflate decompresses in[0:in_len] into out[0:out_len]. It reports
// the bytes used and made and whether the gzip member ended, then clears
// the stream pointers so that no Go pointer outlives the call (ISA-L keeps
// the history window in its own state).
static int s3bk_inflate(struct inflate_state *s, unsigned char *in, unsigned int in_len,
		unsigned char *out, unsigned int out_len, unsigned int *used, unsigned int *made, int *finished) {
	s->next_in = in;
	s->avail_in = in_len;
	s->next_out = out;
	s->avail_out = out_len;
	int ret = isal_inflate(s);
	*used = in_len - s->avail_in;
	*made = out_len - s->avail_out;
	*finished = s->block_state == ISAL_BLOCK_FINISH;
	s->next_in = NULL;
	s->avail_in = 0;
	s->next_out = NULL;
	s->avail_out = 0;
	return ret;
}
*/
import "C"

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"unsafe"
)

// GunzipImpl names the gzip decoder this build uses.
const GunzipImpl = "isa-l"

// isalReader decompresses a (multi-member) gzip stream with Intel ISA-L's
// igzip, several times faster than the pure-Go decoder. Not safe for
// concurrent use.
type isalReader struct {
	src        io.Reader
	st         *C.struct_inflate_state
	in         []byte
	pos, end   int
	srcEOF     bool
	memberDone bool
	err        error
}

func newGunzip(br *bufio.Reader) (io.Reader, error) {
	if _, err := br.Peek(1); err == io.EOF {
		return nil, errEmptyGzip
	}
	st := C.s3bk_inflate_new()
	if st == nil {
		return nil, fmt.Errorf("isa-l: out of memory")
	}
	z := &isalReader{src: br, st: st, in: make([]byte, 256<<10)}
	runtime.AddCleanup(z, func(st *C.struct_inflate_state) { C.free(unsafe.Pointer(st)) }, st)
	return z, nil
}

func (z *isalReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) > 1<<30 {
		p = p[:1<<30]
	}
	for {
		if z.pos == z.end && !z.srcEOF {
			n, err := z.src.Read(z.in)
			z.pos, z.end = 0, n
			if err == io.EOF {
				z.srcEOF = true
			} else if err != nil {
				z.err = err
				return 0, err
			}
			continue
		}
		if z.memberDone {
			if z.pos == z.end {
				z.err = io.EOF
				return 0, io.EOF
			}
			C.s3bk_inflate_reset(z.st)
			z.memberDone = false
		}
		if z.pos == z.end {
			z.err = fmt.Errorf("%w: gzip stream ends inside a member", io.ErrUnexpectedEOF)
			return 0, z.err
		}
		var used, made C.uint
		var fin C.int
		ret := C.s3bk_inflate(z.st, (*C.uchar)(unsafe.Pointer(&z.in[z.pos])), C.uint(z.end-z.pos),
			(*C.uchar)(unsafe.Pointer(&p[0])), C.uint(len(p)), &used, &made, &fin)
		z.pos += int(used)
		if ret < 0 {
			z.err = fmt.Errorf("%w: isa-l inflate error %d", errCorruptGzip, int(ret))
			return int(made), z.err
		}
		if fin != 0 {
			z.memberDone = true
		}
		if made > 0 {
			return int(made), nil
		}
		if used == 0 && fin == 0 {
			z.err = fmt.Errorf("%w: isa-l inflate made no progress", errCorruptGzip)
			return 0, z.err
		}
	}
}
