package gen

import (
	"bufio"
	"io"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// csvWriter writes rows as S3 Inventory writes CSV: gzip, no header,
// every value double-quoted, keys form-encoded (space as '+').
type csvWriter struct {
	zw     *gzip.Writer
	bw     *bufio.Writer
	fields []inventory.Field
	line   []byte
}

func newCSVWriter(w io.Writer, fields inventory.FieldSet, _ *Layout) (fileWriter, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	return &csvWriter{zw: zw, bw: bufio.NewWriterSize(zw, 256<<10), fields: fields.List()}, nil
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
	for i, f := range w.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, f, r)
	}
	b = append(b, '\n')
	w.line = b
	_, err := w.bw.Write(b)
	return err
}

// appendCSVField appends the value of field f of r as S3 writes it in
// CSV: quoted, empty for no value.
func appendCSVField(b []byte, f inventory.Field, r *Row) []byte {
	switch f {
	case inventory.Bucket:
		return appendQuoted(b, r.Bucket)
	case inventory.Key:
		b = append(b, '"')
		b = AppendFormKey(b, r.Key)
		return append(b, '"')
	case inventory.VersionID:
		return appendQuoted(b, r.VersionID)
	case inventory.IsLatest:
		return appendBool(b, r.IsLatest)
	case inventory.IsDeleteMarker:
		return appendBool(b, r.IsDeleteMarker)
	case inventory.Size:
		if r.SizeNull {
			return append(b, `""`...)
		}
		b = append(b, '"')
		b = strconv.AppendInt(b, r.Size, 10)
		return append(b, '"')
	case inventory.LastModifiedDate:
		return appendTime(b, r.LastModified)
	case inventory.ETag:
		return appendQuoted(b, r.ETag)
	case inventory.StorageClass:
		return appendQuoted(b, r.StorageClass)
	case inventory.IsMultipartUploaded:
		if r.IsDeleteMarker {
			return append(b, `""`...)
		}
		return appendBool(b, r.IsMultipart)
	case inventory.ReplicationStatus:
		return appendQuoted(b, r.Replication)
	case inventory.EncryptionStatus:
		return appendQuoted(b, r.Encryption)
	case inventory.ObjectLockRetainUntilDate:
		if r.LockRetain == 0 {
			return append(b, `""`...)
		}
		return appendTime(b, r.LockRetain)
	case inventory.ObjectLockMode:
		return appendQuoted(b, r.LockMode)
	case inventory.ObjectLockLegalHoldStatus:
		return appendQuoted(b, r.LegalHold)
	case inventory.IntelligentTieringAccessTier:
		return appendQuoted(b, r.TieringTier)
	case inventory.BucketKeyStatus:
		return appendQuoted(b, r.BucketKey)
	case inventory.ChecksumAlgorithm:
		return appendQuoted(b, r.ChecksumAlgo)
	}
	return append(b, `""`...)
}

func (w *csvWriter) Close() error {
	if err := w.bw.Flush(); err != nil {
		return err
	}
	return w.zw.Close()
}
