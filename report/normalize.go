package report

// maxNormalized bounds a normalised message; longer ones are cut.
const maxNormalized = 240

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// AppendNormalized appends msg with its variable parts folded, so that
// messages that differ only by ids, hashes, timestamps or numbers count as
// one: a word (letters, digits, '-', '_') made only of digits becomes
// "<n>", a word holding 3 digits or more, or of 8 bytes or more holding a
// digit (request ids, version ids, hex digests, UUIDs, dates) becomes
// "<id>" (short words such as "S3" or "v2" stay), runs of white space
// become one space. The result is at most 240 bytes. It does not allocate
// when dst has room.
func AppendNormalized(dst, msg []byte) []byte {
	start := len(dst)
	space := false
	for i := 0; i < len(msg) && len(dst)-start < maxNormalized; {
		c := msg[i]
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			space = true
			i++
			continue
		}
		if space {
			if len(dst) > start {
				dst = append(dst, ' ')
			}
			space = false
		}
		if !isWordByte(c) {
			dst = append(dst, c)
			i++
			continue
		}
		j, digits, alldigits := i, 0, true
		for j < len(msg) && isWordByte(msg[j]) {
			if msg[j] >= '0' && msg[j] <= '9' {
				digits++
			} else {
				alldigits = false
			}
			j++
		}
		switch {
		case alldigits:
			dst = append(dst, "<n>"...)
		case digits >= 3 || digits > 0 && j-i >= 8:
			dst = append(dst, "<id>"...)
		default:
			dst = append(dst, msg[i:j]...)
		}
		i = j
	}
	if len(dst)-start > maxNormalized {
		dst = dst[:start+maxNormalized]
	}
	return dst
}
