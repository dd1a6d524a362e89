package inventory

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// SizedReaderAt is a random-access object of known size, such as an
// objio.Object.
type SizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// VerifyObject checks a data file against its manifest.json files[] entry
// before it is decoded: its size (when wantSize >= 0) and the MD5 of its
// bytes (when wantMD5 is not empty; hex, case-insensitive). It hashes obj
// sequentially from offset 0. A short or long file fails with ErrTruncated,
// a different MD5 with ErrChecksum, both as a *DataError naming name.
// Formats read by random access (Parquet, ORC) call it before opening the
// file, so that no byte of a damaged file is ever decoded.
func VerifyObject(obj SizedReaderAt, wantMD5 string, wantSize int64, name string) error {
	size := obj.Size()
	if wantSize >= 0 && size != wantSize {
		return &DataError{File: name, Offset: min(size, wantSize), Value: fmt.Sprint(size),
			Expected: fmt.Sprintf("%d bytes as manifest.json says", wantSize), Err: ErrTruncated}
	}
	if wantMD5 == "" {
		return nil
	}
	h := md5.New()
	buf := make([]byte, 1<<20)
	n, err := io.CopyBuffer(h, io.NewSectionReader(obj, 0, size), buf)
	if err != nil {
		return &DataError{File: name, Offset: n, Expected: "a readable file", Err: err}
	}
	if n != size {
		return &DataError{File: name, Offset: n, Value: fmt.Sprint(n), Expected: fmt.Sprintf("%d bytes", size), Err: ErrTruncated}
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want := strings.ToLower(wantMD5); got != want {
		return &DataError{File: name, Offset: -1, Value: got, Expected: "MD5 " + want + " as manifest.json says", Err: ErrChecksum}
	}
	return nil
}
