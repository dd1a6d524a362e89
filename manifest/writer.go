package manifest

import (
	"crypto/md5"
	"encoding/hex"
	"hash"
	"os"
)

const flushBytes = 1 << 20

// ShardWriter writes one manifest file, computing its MD5 as it goes.
// Rows are buffered and written in 1 MiB blocks. Add is allocation-free
// once the buffer has grown. Not safe for concurrent use.
type ShardWriter struct {
	f    *os.File
	buf  []byte
	md5  hash.Hash
	info Shard
	err  error // first write error; sticky
	done bool
	lk   []byte
}

func newShardWriter(path string) (*ShardWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &ShardWriter{f: f, buf: make([]byte, 0, flushBytes+8192), md5: md5.New()}, nil
}

// Add appends one object. key and versionID are the real (decoded) bytes;
// size is the object's size, summed into the shard's Bytes.
func (w *ShardWriter) Add(bucket, key, versionID []byte, size int64) error {
	if w.err != nil {
		return w.err
	}
	if w.info.Objects == 0 {
		w.info.FirstKey = string(key)
	}
	start := len(w.buf)
	w.buf = AppendRow(w.buf, bucket, key, versionID, w.info.VersionIDs)
	w.info.ManifestBytes += int64(len(w.buf) - start)
	w.info.Objects++
	w.info.Bytes += size
	if len(w.buf) >= flushBytes {
		w.flush()
	}
	w.lastKey(key)
	return w.err
}

// lastKey remembers the last key without allocating per row: the key is
// kept in a reusable buffer and turned into a string at Close.
func (w *ShardWriter) lastKey(key []byte) {
	w.lk = append(w.lk[:0], key...)
}

// Objects returns the number of rows written so far.
func (w *ShardWriter) Objects() int64 { return w.info.Objects }

// Bytes returns the sum of the sizes of the objects written so far.
func (w *ShardWriter) Bytes() int64 { return w.info.Bytes }

// ManifestBytes returns the shard file's size so far.
func (w *ShardWriter) ManifestBytes() int64 { return w.info.ManifestBytes }

func (w *ShardWriter) flush() {
	if len(w.buf) == 0 || w.err != nil {
		return
	}
	w.md5.Write(w.buf)
	_, w.err = w.f.Write(w.buf)
	w.buf = w.buf[:0]
}

// Close flushes and closes the file and fixes the shard's MD5. It is safe
// to call more than once.
func (w *ShardWriter) Close() error {
	if w.done {
		return w.err
	}
	w.done = true
	w.flush()
	if err := w.f.Sync(); err != nil && w.err == nil {
		w.err = err
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = err
	}
	w.info.MD5 = hex.EncodeToString(w.md5.Sum(nil))
	w.info.LastKey = string(w.lk)
	return w.err
}

func (w *ShardWriter) abort() {
	if !w.done {
		w.done = true
		w.f.Close()
	}
}

// Info returns the shard's description; complete after Close.
func (w *ShardWriter) Info() Shard { return w.info }
