package orc

import "errors"

var errLZ4 = errors.New("malformed lz4 block")

// lz4DecodeBlock appends the decoding of one raw LZ4 block (no frame) to
// dst. It never writes more than limit bytes and never reads outside src.
func lz4DecodeBlock(dst, src []byte, limit int) ([]byte, error) {
	start := len(dst)
	i := 0
	for i < len(src) {
		token := src[i]
		i++
		// literals
		lit := int(token >> 4)
		if lit == 15 {
			for {
				if i >= len(src) {
					return dst, errLZ4
				}
				b := src[i]
				i++
				lit += int(b)
				if lit > len(src) {
					return dst, errLZ4
				}
				if b != 255 {
					break
				}
			}
		}
		if lit > len(src)-i {
			return dst, errLZ4
		}
		if len(dst)-start+lit > limit {
			return dst, errChunkTooBig
		}
		dst = append(dst, src[i:i+lit]...)
		i += lit
		if i == len(src) {
			break // last sequence has literals only
		}
		// match
		if len(src)-i < 2 {
			return dst, errLZ4
		}
		off := int(src[i]) | int(src[i+1])<<8
		i += 2
		if off == 0 || off > len(dst)-start {
			return dst, errLZ4
		}
		ml := int(token & 15)
		if ml == 15 {
			for {
				if i >= len(src) {
					return dst, errLZ4
				}
				b := src[i]
				i++
				ml += int(b)
				if ml > limit {
					return dst, errChunkTooBig
				}
				if b != 255 {
					break
				}
			}
		}
		ml += 4
		if len(dst)-start+ml > limit {
			return dst, errChunkTooBig
		}
		pos := len(dst) - off
		if off >= ml {
			dst = append(dst, dst[pos:pos+ml]...)
		} else {
			for k := 0; k < ml; k++ {
				dst = append(dst, dst[pos+k])
			}
		}
	}
	return dst, nil
}
