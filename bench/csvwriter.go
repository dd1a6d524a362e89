package bench

import (
	"bufio"
	"io"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"
)

// csvWriter writes rows as S3 Inventory writes CSV: gzip, no header,
// every value double-quoted, keys form-encoded (space as '+').
type csvWriter struct {
	zw       *gzip.Writer
	bw       *bufio.Writer
	versions bool
	line     []byte
}

func newCSVWriter(w io.Writer, versions bool) (fileWriter, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	return &csvWriter{zw: zw, bw: bufio.NewWriterSize(zw, 256<<10), versions: versions}, nil
}

// AppendFormKey appends key encoded as S3 Inventory CSV encodes keys:
// unreserved characters and '/' literal, space as '+', every other byte
// as %XX.
func AppendFormKey(dst []byte, key string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~', c == '/':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

func appendQuoted(dst []byte, v string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, v[i])
	}
	return append(dst, '"')
}

func appendTime(dst []byte, ms int64) []byte {
	dst = append(dst, '"')
	dst = time.UnixMilli(ms).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	return append(dst, '"')
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, `"true"`...)
	}
	return append(dst, `"false"`...)
}

func (w *csvWriter) Write(r *Row) error {
	b := w.line[:0]
	b = appendQuoted(b, r.Bucket)
	b = append(b, ',', '"')
	b = AppendFormKey(b, r.Key)
	b = append(b, '"')
	if w.versions {
		b = append(b, ',')
		b = appendQuoted(b, r.VersionID)
		b = append(b, ',')
		b = appendBool(b, r.IsLatest)
		b = append(b, ',')
		b = appendBool(b, r.IsDeleteMarker)
	}
	b = append(b, ',')
	if r.SizeNull {
		b = append(b, `""`...)
	} else {
		b = append(b, '"')
		b = strconv.AppendInt(b, r.Size, 10)
		b = append(b, '"')
	}
	b = append(b, ',')
	b = appendTime(b, r.LastModified)
	b = append(b, ',')
	b = appendQuoted(b, r.ETag)
	b = append(b, ',')
	b = appendQuoted(b, r.StorageClass)
	b = append(b, ',')
	if r.IsDeleteMarker {
		b = append(b, `""`...)
	} else {
		b = appendBool(b, r.IsMultipart)
	}
	b = append(b, ',')
	b = appendQuoted(b, r.Replication)
	b = append(b, ',')
	b = appendQuoted(b, r.Encryption)
	b = append(b, ',')
	if r.LockRetain != 0 {
		b = appendTime(b, r.LockRetain)
	} else {
		b = append(b, `""`...)
	}
	b = append(b, ',')
	b = appendQuoted(b, r.LockMode)
	b = append(b, ',')
	b = appendQuoted(b, r.LegalHold)
	b = append(b, ',')
	b = appendQuoted(b, r.TieringTier)
	b = append(b, ',')
	b = appendQuoted(b, r.BucketKey)
	b = append(b, ',')
	b = appendQuoted(b, r.ChecksumAlgo)
	b = append(b, '\n')
	w.line = b
	_, err := w.bw.Write(b)
	return err
}

func (w *csvWriter) Close() error {
	if err := w.bw.Flush(); err != nil {
		return err
	}
	return w.zw.Close()
}
