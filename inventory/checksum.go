package inventory

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/objio"
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
// a different MD5 with ErrChecksum, both as a *DataError naming name;
// a read that fails otherwise (S3 after its retries, a disk) is no
// DataError: the data is not known to be bad, and a retry may cure it.
// Formats read by random access (Parquet, ORC) call it before opening the
// file, so that no byte of a damaged file is ever decoded.
func VerifyObject(obj SizedReaderAt, wantMD5 string, wantSize int64, name string) error {
	return verifyObject(context.Background(), obj, wantMD5, wantSize, name, md5.New())
}

// verifyObject is VerifyObject hashing with h (crypto/md5, or a lane of
// the ahead verifier's md5-simd server); it stops when ctx is done.
func verifyObject(ctx context.Context, obj SizedReaderAt, wantMD5 string, wantSize int64, name string, h hash.Hash) error {
	size := obj.Size()
	if err := checkSize(size, wantSize, name); err != nil {
		return err
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
			// Not the data's fault (S3 failing after its retries, the
			// object replaced mid-read, a disk error): a retry may cure it.
			return fmt.Errorf("%s: reading at offset %d to check its MD5: %w", name, n, err)
		}
	}
	return checkDigest(h, wantMD5, name)
}

// checkSize checks an object's size against manifest.json's (wantSize
// < 0: none given).
func checkSize(size, wantSize int64, name string) error {
	if wantSize >= 0 && size != wantSize {
		return &DataError{File: name, Offset: min(size, wantSize), Value: fmt.Sprint(size),
			Expected: fmt.Sprintf("%d bytes as manifest.json says", wantSize), Err: ErrTruncated}
	}
	return nil
}

// checkDigest compares the MD5 in h with manifest.json's.
func checkDigest(h hash.Hash, wantMD5, name string) error {
	got := hex.EncodeToString(h.Sum(nil))
	if want := strings.ToLower(wantMD5); got != want {
		return &DataError{File: name, Offset: -1, Value: got, Expected: "MD5 " + want + " as manifest.json says", Err: ErrChecksum}
	}
	return nil
}

// decodeCopy reads obj (named name) once, sequentially, into a file in
// tmpDir (empty: os.TempDir()), hashing the bytes on the way, checks the
// size and MD5 as VerifyObject does, and returns the local copy for the
// reader to decode: the bytes decoded are the bytes hashed, and an S3
// object is read once. The copy is unlinked as soon as it is created
// (nothing is left behind if the process dies); its space is freed by
// Close. Errors are those of VerifyObject, and of the local file.
func decodeCopy(ctx context.Context, obj objio.Object, wantMD5 string, wantSize int64, name, tmpDir string) (objio.Object, error) {
	size := obj.Size()
	if err := checkSize(size, wantSize, name); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(tmpDir, "s3batchkit-data-")
	if err != nil {
		return nil, fmt.Errorf("%s: a local copy to decode: %w", name, err)
	}
	os.Remove(f.Name())
	h := md5.New()
	w := &errWriter{w: f}
	// obj's reads stop when the context it was opened with is done.
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(obj, size+1))
	switch {
	case err != nil && ctx.Err() != nil:
		err = ctx.Err()
	case w.err != nil:
		err = fmt.Errorf("%s: writing its local copy to decode (--tmp-dir): %w", name, w.err)
	case err != nil:
		// Not the data's fault (S3 failing after its retries, the
		// object replaced mid-read): a retry may cure it.
		err = fmt.Errorf("%s: reading at offset %d: %w", name, n, err)
	case n != size:
		err = &DataError{File: name, Offset: min(n, size), Value: fmt.Sprint(n), Expected: fmt.Sprintf("%d bytes", size), Err: ErrTruncated}
	default:
		err = checkDigest(h, wantMD5, name)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &localCopy{File: f, name: name, size: size}, nil
}

// errWriter remembers its writer's error, to tell it from the reader's.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// localCopy is decodeCopy's file, named as the object it copies.
type localCopy struct {
	*os.File
	name string
	size int64
}

func (l *localCopy) Size() int64  { return l.size }
func (l *localCopy) Name() string { return l.name }
