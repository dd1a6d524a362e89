package inventory

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash"
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
	return verifyObject(context.Background(), obj, wantMD5, wantSize, name, md5.New())
}

// verifyObject is VerifyObject hashing with h (crypto/md5, or a lane of
// the ahead verifier's md5-simd server); it stops when ctx is done.
func verifyObject(ctx context.Context, obj SizedReaderAt, wantMD5 string, wantSize int64, name string, h hash.Hash) error {
	size := obj.Size()
	if wantSize >= 0 && size != wantSize {
		return &DataError{File: name, Offset: min(size, wantSize), Value: fmt.Sprint(size),
			Expected: fmt.Sprintf("%d bytes as manifest.json says", wantSize), Err: ErrTruncated}
	}
	if wantMD5 == "" {
		return nil
	}
	buf := make([]byte, 1<<20)
	var n int64
	for n < size {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := obj.ReadAt(buf[:min(int64(len(buf)), size-n)], n)
		h.Write(buf[:k])
		n += int64(k)
		if k == 0 && err == nil {
			err = io.ErrNoProgress // a ReaderAt breaking its contract
		}
		if err == io.EOF && n == size {
			break
		}
		if err != nil {
			if err == io.EOF {
				return &DataError{File: name, Offset: n, Value: fmt.Sprint(n), Expected: fmt.Sprintf("%d bytes", size), Err: ErrTruncated}
			}
			return &DataError{File: name, Offset: n, Expected: "a readable file", Err: err}
		}
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want := strings.ToLower(wantMD5); got != want {
		return &DataError{File: name, Offset: -1, Value: got, Expected: "MD5 " + want + " as manifest.json says", Err: ErrChecksum}
	}
	return nil
}
