package report

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"sync/atomic"

	"github.com/s3batchkit/s3batchkit/internal/extsort"
)

// tracker follows failed objects across jobs in bounded memory, exactly
// (objects are told apart by their 64-bit hash, see hash.go).
//
// Every failed task becomes a record of an external sort by object hash,
// newest job first (fails). Successes matter only for objects that also
// failed: those that may have (the filter says so) become records of a
// second sort by hash (oks). Run reads the failed result files of all
// jobs before the succeeded ones: until startSuccesses every success is
// recorded; then the filter is built from the hashes of the failures seen
// so far, sized to them, and a success whose object never failed costs one
// filter probe and no memory. A failure found after that (in a succeeded
// file) is added to the filter, and the successes read after it see it.
//
// At the end both sorts are merged by hash: each failed object's newest
// failure goes to the re-run manifests unless a success came in the same
// or a newer job.
//
// Memory: the two sorts (MergeOptions.SortMemory each, then they spill
// to disk), and the filter: 2 to 4 bytes per failed object, at
// most maxFilterBytes (past that it lets more successes through to oks,
// which stays exact but uses more disk).
type tracker struct {
	dir    string
	fails  *extsort.Sorter
	oks    *extsort.Sorter
	filter *hashFilter // nil: every success is recorded

	// Hashes of the failures seen before the filter exists, to build it.
	hashFile *os.File
	hashW    *bufio.Writer
	hashes   int64

	rec []byte // scratch
}

// spillPattern names the tracker's file of failure hashes (an
// os.CreateTemp pattern); Run removes leftovers of a killed run from the
// output folder. The sorts spill into folders of their own (extsort).
const spillPattern = ".s3batchkit-report-spill-*"

// Both sorts order their records by a key of 12 bytes: the object's hash
// (8 bytes, big-endian) and ^seq (4, big-endian: the newest job first).
// A record of fails carries the failure as its value: class, route (2),
// bucket, key and version lengths (4 each), then the three byte strings;
// fails is stable, so that the failures of one object in one job come out
// in the order they were read. A record of oks is its key alone.
const (
	hashSeqLen = 8 + 4
	failHeader = 1 + 2 + 12
)

func newTracker(dir string, sortMem int) *tracker {
	return &tracker{
		dir:   dir,
		fails: newSort(dir, sortMem, true),
		oks:   newSort(dir, sortMem, false), // equal keys: equal records
	}
}

func putHashSeq(b []byte, h uint64, seq uint32) {
	binary.BigEndian.PutUint64(b, h)
	binary.BigEndian.PutUint32(b[8:], ^seq)
}

// succeed records a success in job seq of an object that may have failed.
func (t *tracker) succeed(h uint64, seq uint32) error {
	var b [hashSeqLen]byte
	putHashSeq(b[:], h, seq)
	return t.oks.Add(b[:], nil)
}

// mayHaveFailed tells whether a success of h must be recorded.
func (t *tracker) mayHaveFailed(h uint64) bool { return t.filter == nil || t.filter.has(h) }

// fail records a failed task.
func (t *tracker) fail(h uint64, seq uint32, cl Class, route uint16, bucket, key, version []byte) error {
	b := t.rec[:0]
	b = append(b, make([]byte, hashSeqLen+failHeader)...)
	putHashSeq(b, h, seq)
	v := b[hashSeqLen:]
	v[0] = byte(cl)
	binary.LittleEndian.PutUint16(v[1:], route)
	binary.LittleEndian.PutUint32(v[3:], uint32(len(bucket)))
	binary.LittleEndian.PutUint32(v[7:], uint32(len(key)))
	binary.LittleEndian.PutUint32(v[11:], uint32(len(version)))
	b = append(b, bucket...)
	b = append(b, key...)
	b = append(b, version...)
	t.rec = b
	if err := t.fails.Add(b[:hashSeqLen], b[hashSeqLen:]); err != nil {
		return err
	}
	if t.filter != nil {
		t.filter.add(h)
		return nil
	}
	if t.hashFile == nil {
		f, err := os.CreateTemp(t.dir, spillPattern)
		if err != nil {
			return fmt.Errorf("creating a spill file: %w: %w", ErrSpill, err)
		}
		t.hashFile, t.hashW = f, bufio.NewWriterSize(f, 64<<10)
	}
	var hb [8]byte
	binary.LittleEndian.PutUint64(hb[:], h)
	if _, err := t.hashW.Write(hb[:]); err != nil {
		return fmt.Errorf("writing spill file %s: %w: %w", t.hashFile.Name(), ErrSpill, err)
	}
	t.hashes++
	return nil
}

// startSuccesses builds the filter from the failures recorded so far.
// Call it once no goroutine probes the filter (between the failed and the
// succeeded files).
func (t *tracker) startSuccesses() error {
	if t.filter != nil {
		return nil
	}
	f := newHashFilter(t.hashes)
	if t.hashFile != nil {
		name := t.hashFile.Name()
		err := t.hashW.Flush()
		if err == nil {
			_, err = t.hashFile.Seek(0, io.SeekStart)
		}
		if err == nil {
			br := bufio.NewReaderSize(t.hashFile, 64<<10)
			var hb [8]byte
			for i := int64(0); i < t.hashes && err == nil; i++ {
				if _, err = io.ReadFull(br, hb[:]); err == nil {
					f.add(binary.LittleEndian.Uint64(hb[:]))
				}
			}
		}
		t.closeHashes()
		if err != nil {
			return fmt.Errorf("reading spill file %s: %w: %w", name, ErrSpill, err)
		}
	}
	t.filter = f
	return nil
}

func (t *tracker) closeHashes() error {
	if t.hashFile == nil {
		return nil
	}
	name := t.hashFile.Name()
	err := t.hashFile.Close()
	if rerr := os.Remove(name); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	t.hashFile, t.hashW = nil, nil
	return err
}

// failure is one failed task handed to finish's emit; its slices are
// valid until emit returns.
type failure struct {
	seq                  uint32
	class                Class
	route                uint16
	bucket, key, version []byte
}

// decodeFailure decodes a record of fails: its key k and value v.
func decodeFailure(k, v []byte) (h uint64, f failure) {
	h = binary.BigEndian.Uint64(k)
	f.seq = ^binary.BigEndian.Uint32(k[8:])
	f.class = Class(v[0])
	f.route = binary.LittleEndian.Uint16(v[1:])
	bl := binary.LittleEndian.Uint32(v[3:])
	kl := binary.LittleEndian.Uint32(v[7:])
	vl := binary.LittleEndian.Uint32(v[11:])
	rest := v[failHeader:]
	f.bucket, f.key, f.version = rest[:bl], rest[bl:bl+kl], rest[bl+kl:bl+kl+vl]
	return h, f
}

// rerunCounts accounts for every failed row of one class.
type rerunCounts struct {
	rows, kept, laterSucceeded, superseded int64
}

// finish merges the failures with the successes and calls emit for each
// object to re-run, once per object, with its newest failure (the first
// one read, among several in the newest job). It fills the object
// counters of s and counts by the class of each failed row.
func (t *tracker) finish(ctx context.Context, s *ObjectSummary, counts *[numClasses]rerunCounts, emit func(*failure) error) error {
	if err := t.closeHashes(); err != nil {
		return fmt.Errorf("%w: %w", ErrSpill, err)
	}
	s.LatestByClass = map[string]int64{}
	for _, cl := range FailureClasses {
		s.LatestByClass[cl.String()] = 0
	}
	fi, err := finishSort(ctx, t.fails)
	if err != nil {
		return err
	}
	defer fi.Close()
	oi, err := finishSort(ctx, t.oks)
	if err != nil {
		return err
	}
	defer oi.Close()
	haveOK := oi.Next()
	var (
		group       bool
		gh          uint64
		gfail, gok  uint32
		gn          int64
		endOfObject = func() {
			s.FailedObjects++
			if gok >= gfail {
				s.LaterSucceeded++
			} else {
				s.LatestFailed++
			}
			if gn > 1 {
				s.FailedSeveralTimes++
			}
		}
	)
	for fi.Next() {
		h, f := decodeFailure(fi.Key(), fi.Value())
		first := !group || h != gh
		if first {
			if group {
				endOfObject()
			}
			group, gh, gfail, gok, gn = true, h, f.seq, 0, 0
			for haveOK && binary.BigEndian.Uint64(oi.Key()) < h {
				haveOK = oi.Next()
			}
			if haveOK && binary.BigEndian.Uint64(oi.Key()) == h {
				gok = ^binary.BigEndian.Uint32(oi.Key()[8:])
			}
		}
		gn++
		c := &counts[f.class]
		c.rows++
		switch {
		case gok >= gfail:
			c.laterSucceeded++
		case !first:
			c.superseded++
		default:
			c.kept++
			s.LatestByClass[f.class.String()]++
			if err := emit(&f); err != nil {
				return err
			}
		}
	}
	if group {
		endOfObject()
	}
	if err := fi.Err(); err != nil {
		return err
	}
	return oi.Err()
}

func (t *tracker) close() error {
	err := t.closeHashes()
	if e := t.fails.Close(); err == nil {
		err = e
	}
	if e := t.oks.Close(); err == nil {
		err = e
	}
	return err
}

// maxFilterBytes bounds the filter: 16 bits per failed object up to 8
// million of them.
const maxFilterBytes = 16 << 20

// hashFilter is a Bloom filter of object hashes, blocked to one 64-bit
// word per object (one memory access per probe) with 4 bits set in it.
// At 16 bits per object about 0.5% of the objects that never failed pass.
// add and has may run in several goroutines at once.
type hashFilter struct {
	words []uint64
	mask  uint64
}

// newHashFilter returns a filter sized for n objects.
func newHashFilter(n int64) *hashFilter {
	words := uint64(64) // 512 bytes
	for words*64 < uint64(n)*16 && words*8 < maxFilterBytes {
		words *= 2
	}
	return &hashFilter{words: make([]uint64, words), mask: words - 1}
}

// filterBits picks 4 bits from the top 24 bits of h; the word index
// comes from the low bits.
func filterBits(h uint64) uint64 {
	return 1<<(h>>58) | 1<<(h>>52&63) | 1<<(h>>46&63) | 1<<(h>>40&63)
}

func (f *hashFilter) add(h uint64) { atomic.OrUint64(&f.words[h&f.mask], filterBits(h)) }

func (f *hashFilter) has(h uint64) bool {
	m := filterBits(h)
	return atomic.LoadUint64(&f.words[h&f.mask])&m == m
}

// fill is for tests: the share of bits set.
func (f *hashFilter) fill() float64 {
	n := 0
	for _, w := range f.words {
		n += bits.OnesCount64(w)
	}
	return float64(n) / float64(64*len(f.words))
}
