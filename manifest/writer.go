package manifest

import (
	"crypto/md5"
	"encoding/hex"
	"hash"
	"os"
	"sync/atomic"
)

const flushBytes = 1 << 20

// ShardWriter writes one manifest file and finds its MD5. Rows are
// buffered in 1 MiB blocks, which a goroutine of the writer's own writes
// (and, for a writer of its own, hashes) while Add fills the next block,
// so that the caller (the planner's single ordered output) spends its
// time encoding rows only. A plan directory's writers leave the MD5 to
// the directory's shardHasher, which hashes several closed shards at once.
// Add is allocation-free once the buffers have grown. Not safe for
// concurrent use.
type ShardWriter struct {
	f    *os.File
	path string
	// hasher, when set, computes sum (or hashErr) once the file is
	// closed; else background hashes the blocks as it writes them.
	hasher  *shardHasher
	hashErr error
	buf     []byte
	info    Shard
	err     error // first error seen by the caller's goroutine; sticky
	done    bool  // Close or abort has run
	lk      []byte

	// The background writer: full carries blocks to it, free brings them
	// back; it ends, after syncing and closing f, when full is closed,
	// and then closes exited with its result in bgErr and sum.
	full    chan []byte
	free    chan []byte
	exited  chan struct{}
	bgErr   error
	sum     []byte
	closing bool        // full is closed
	discard atomic.Bool // set by abort: skip the sync
	// writeErr is the background writer's first write error, set before
	// failed, so that Add stops soon after it (a full disk) rather than
	// at Close.
	writeErr error
	failed   atomic.Bool
}

// writerBlocks is the number of blocks per writer: one filled by Add
// while the others are hashed and written.
const writerBlocks = 2

func newShardWriter(path string, hasher *shardHasher) (*ShardWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	w := &ShardWriter{
		f:      f,
		path:   path,
		hasher: hasher,
		buf:    make([]byte, 0, flushBytes+8192),
		full:   make(chan []byte, writerBlocks),
		free:   make(chan []byte, writerBlocks),
		exited: make(chan struct{}),
	}
	for range writerBlocks - 1 {
		w.free <- make([]byte, 0, flushBytes+8192)
	}
	var h hash.Hash
	if hasher == nil {
		h = md5.New()
	}
	go w.background(h)
	return w, nil
}

// background writes the blocks sent on full, hashing them with h unless
// it is nil; after the last it syncs and closes the file (so that the
// caller of Close does not wait for the disk while it has rows to encode
// for other shards), then hands a complete file to w.hasher.
func (w *ShardWriter) background(h hash.Hash) {
	defer close(w.exited)
	var err error
	for b := range w.full {
		if err == nil && h != nil {
			h.Write(b)
		}
		if err == nil {
			if _, err = w.f.Write(b); err != nil {
				w.writeErr = err
				w.failed.Store(true)
			}
		}
		w.free <- b[:0]
	}
	if err == nil && !w.discard.Load() {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.bgErr = err
	switch {
	case h != nil:
		w.sum = h.Sum(nil)
	case err == nil && !w.discard.Load():
		w.hasher.closed(w)
	}
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

// AddLine appends one manifest line copied as it is (line without its
// line end; "\n" is added), for re-run plans, whose lines must be the
// bytes the plan wrote. key is the line's decoded key (FirstKey,
// LastKey). The line must be of the shard's layout (VersionIDs).
func (w *ShardWriter) AddLine(line, key []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.info.Objects == 0 {
		w.info.FirstKey = string(key)
	}
	w.buf = append(append(w.buf, line...), '\n')
	w.info.ManifestBytes += int64(len(line) + 1)
	w.info.Objects++
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

// flush hands the filled block to the background writer and takes an
// empty one. A write error of the background writer shows at the next
// flush (and at Close).
func (w *ShardWriter) flush() {
	if len(w.buf) == 0 || w.err != nil {
		return
	}
	if w.failed.Load() {
		w.err = w.writeErr
		return
	}
	w.full <- w.buf
	w.buf = <-w.free
}

// CloseAsync hands the last rows to the background writer, which syncs
// and closes the file on its own; Close waits for it. The shard takes no
// more rows.
func (w *ShardWriter) CloseAsync() {
	if w.closing {
		return
	}
	w.flush()
	w.closing = true
	close(w.full)
}

// Close flushes and closes the file (waiting for the background writer)
// and fixes the shard's last key, and its MD5 unless a shardHasher finds
// it (PlanDir.Commit then sets it). It is safe to call more than
// once, and after CloseAsync.
func (w *ShardWriter) Close() error {
	if w.done {
		return w.err
	}
	w.done = true
	w.CloseAsync()
	<-w.exited
	if w.err == nil {
		w.err = w.bgErr
	}
	if w.hasher == nil {
		w.info.MD5 = hex.EncodeToString(w.sum)
	}
	w.info.LastKey = string(w.lk)
	return w.err
}

// abort stops the background writer and closes the file, for a plan that
// is discarded.
func (w *ShardWriter) abort() {
	if w.done {
		return
	}
	w.done = true
	w.discard.Store(true)
	if !w.closing {
		w.closing = true
		close(w.full)
	}
	<-w.exited
}

// Info returns the shard's description; complete after Close.
func (w *ShardWriter) Info() Shard { return w.info }
