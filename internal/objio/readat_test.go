package objio_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
)

// TestReadAtReadsWhatItIsAsked counts the bytes an S3 object's ReadAt
// receives. A large read in the middle (a Parquet column chunk) is one
// ranged GET of exactly its bytes: it used to start a read-ahead that
// fetched whole parts beyond it, which made decoding a few columns of a
// Parquet file read 1.8 times the file. A small read fetches one aligned
// block of 1 MiB. Reading the whole object from offset 0, in order, 1 MiB
// at a time, reads each byte once (through the read-ahead).
func TestReadAtReadsWhatItIsAsked(t *testing.T) {
	_, bucket := objiotest.Setup(t)
	oc := objiotest.Client(t)
	ctx := context.Background()
	data := randomBytes(20<<20+123, 7)
	loc := "s3://" + bucket + "/readat.bin"
	if _, err := oc.Upload(ctx, loc, bytes.NewReader(data), int64(len(data)), objio.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	check := func(what string, obj objio.Object, off, n, wantRead int64) {
		t.Helper()
		before := oc.Stats().BytesRead
		buf := make([]byte, n)
		k, err := obj.ReadAt(buf, off)
		if (err != nil && err != io.EOF) || int64(k) != n || !bytes.Equal(buf, data[off:off+n]) {
			t.Fatalf("%s: read %d bytes (%v), or not the object's", what, k, err)
		}
		if got := oc.Stats().BytesRead - before; got != wantRead {
			t.Errorf("%s: %d bytes received, want %d", what, got, wantRead)
		}
	}
	obj, err := oc.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	check("2 MiB at 5 MiB", obj, 5<<20, 2<<20, 2<<20)
	check("the 2 MiB after them", obj, 7<<20, 2<<20, 2<<20)
	check("100 bytes at 13 MiB + 5", obj, 13<<20+5, 100, 1<<20)
	check("100 more in that block", obj, 13<<20+500, 100, 0)
	obj.Close()

	obj, err = oc.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	before := oc.Stats().BytesRead
	// As VerifyObject reads a file to hash it: 1 MiB at a time, from 0.
	var got bytes.Buffer
	if _, err := io.CopyBuffer(&got, io.NewSectionReader(obj, 0, obj.Size()), make([]byte, 1<<20)); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("the whole object in order: %d bytes (%v)", got.Len(), err)
	}
	if n := oc.Stats().BytesRead - before; n != int64(len(data)) {
		t.Errorf("the whole object in order: %d bytes received, want its %d", n, len(data))
	}
}
