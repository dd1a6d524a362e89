package manifest

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestShardWriterContent writes shards of several sizes around the block
// size, closing some asynchronously first, and checks the files and their
// MD5s against the rows encoded directly.
func TestShardWriterContent(t *testing.T) {
	dir := t.TempDir()
	for _, rows := range []int{0, 1, 1000, 40000, 100000} {
		for _, async := range []bool{false, true} {
			path := filepath.Join(dir, fmt.Sprintf("%d-%v.csv", rows, async))
			w, err := newShardWriter(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			for i := range rows {
				key := []byte(fmt.Sprintf("dir/sub dir/ключ+%08d", i))
				want = AppendRow(want, []byte("bkt"), key, nil, false)
				if err := w.Add([]byte("bkt"), key, nil, int64(i)); err != nil {
					t.Fatal(err)
				}
			}
			if async {
				w.CloseAsync()
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("%d rows: file differs from the encoded rows (%d bytes, want %d)", rows, len(got), len(want))
			}
			sum := md5.Sum(want)
			info := w.Info()
			if info.MD5 != hex.EncodeToString(sum[:]) || info.ManifestBytes != int64(len(want)) || info.Objects != int64(rows) {
				t.Fatalf("%d rows: info %+v, want MD5 %x, %d bytes", rows, info, sum, len(want))
			}
		}
	}
}

// TestShardWriterWriteError makes the file fail under the background
// writer: Add must report the error within a few blocks, not only at
// Close, and Close must report it too.
func TestShardWriterWriteError(t *testing.T) {
	w, err := newShardWriter(filepath.Join(t.TempDir(), "x.csv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.f.Close() // every write now fails
	key := make([]byte, 1000)
	for i := range key {
		key[i] = 'k'
	}
	var addErr error
	written := 0
	for ; written < 20<<20 && addErr == nil; written += len(key) {
		addErr = w.Add([]byte("b"), key, nil, 1)
	}
	if !errors.Is(addErr, os.ErrClosed) {
		t.Fatalf("Add: %v after %d bytes, want os.ErrClosed", addErr, written)
	}
	if written > (writerBlocks+2)*flushBytes {
		t.Errorf("the error surfaced after %d bytes, want within %d", written, (writerBlocks+2)*flushBytes)
	}
	if err := w.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Close: %v, want os.ErrClosed", err)
	}
}

// TestShardWriterAbort aborts writers in every state; none may hang.
func TestShardWriterAbort(t *testing.T) {
	dir := t.TempDir()
	var h shardHasher
	for i, rows := range []int{0, 5000, 50000, 0, 5000, 50000} {
		hasher := &h
		if i < 3 {
			hasher = nil
		}
		w, err := newShardWriter(filepath.Join(dir, fmt.Sprint(i)), hasher)
		if err != nil {
			t.Fatal(err)
		}
		for j := range rows {
			w.Add([]byte("b"), []byte(fmt.Sprint(j)), nil, 1)
		}
		if i%3 == 1 {
			w.CloseAsync()
		}
		w.abort()
		w.abort()
	}
}
