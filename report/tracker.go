package report

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// tracker follows failed objects across jobs in bounded memory.
//
// Only objects that failed at least once are tracked: a map from the
// object's 64-bit hash to the newest job (seq) in which it failed and the
// newest in which it succeeded. Every failed row is also appended to a
// spill file (sequential writes, on disk, not in memory). Run reads the
// failed result files of all jobs before the succeeded ones, so a success
// always finds the failures it may supersede already in the map; a success
// of an object never seen failing costs one map lookup and no memory.
//
// At the end the spill is read once: a row goes to the re-run manifests
// when it is its object's newest failure and no success came in the same
// or a newer job. Memory: about 40 bytes per distinct failed object, up
// to max; failures past max are spilled as untracked and always re-run.
type tracker struct {
	max       int
	m         map[uint64]trackEntry
	f         *os.File
	w         *bufio.Writer
	records   int64
	untracked int64
	hdr       [20]byte
}

type trackEntry struct {
	fail, ok uint32 // newest job (Order+1) with a failure, with a success
	fails    uint32 // failed tasks; the top bit marks "emitted"
}

const emittedBit = 1 << 31

func newTracker(dir string, max int) (*tracker, error) {
	f, err := os.CreateTemp(dir, ".s3batchkit-report-spill-*")
	if err != nil {
		return nil, fmt.Errorf("creating spill file: %w", err)
	}
	return &tracker{max: max, m: map[uint64]trackEntry{}, f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (t *tracker) succeed(h uint64, seq uint32) {
	if e, ok := t.m[h]; ok && seq > e.ok {
		e.ok = seq
		t.m[h] = e
	}
}

// spill record: seq u32, class u8, untracked u8, route u16, bucket len
// u32, key len u32, version len u32, then the three byte strings.
func (t *tracker) fail(h uint64, seq uint32, cl Class, route uint16, r *Row) error {
	var untracked byte
	e, ok := t.m[h]
	if ok || len(t.m) < t.max {
		if seq > e.fail {
			e.fail = seq
		}
		e.fails++
		t.m[h] = e
	} else {
		untracked = 1
		t.untracked++
	}
	b := t.hdr[:]
	binary.LittleEndian.PutUint32(b[0:], seq)
	b[4] = byte(cl)
	b[5] = untracked
	binary.LittleEndian.PutUint16(b[6:], route)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(r.Bucket)))
	binary.LittleEndian.PutUint32(b[12:], uint32(len(r.Key)))
	binary.LittleEndian.PutUint32(b[16:], uint32(len(r.VersionID)))
	t.w.Write(b)
	t.w.Write(r.Bucket)
	t.w.Write(r.Key)
	if _, err := t.w.Write(r.VersionID); err != nil {
		return fmt.Errorf("writing spill file %s: %w", t.f.Name(), err)
	}
	t.records++
	return nil
}

// spilled is one failed row read back from the spill file; its slices are
// valid until the next record.
type spilled struct {
	seq                  uint32
	class                Class
	untracked            bool
	route                uint16
	bucket, key, version []byte
}

// rerunCounts accounts for every failed row of one class.
type rerunCounts struct {
	rows, kept, laterSucceeded, superseded, untracked int64
}

// finish reads the spill back and calls emit for each object to re-run,
// once per object, with the class of its newest failure. It fills the
// object counters of s.
func (t *tracker) finish(s *ObjectSummary, counts *[numClasses]rerunCounts, emit func(*spilled) error) error {
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("writing spill file %s: %w", t.f.Name(), err)
	}
	s.LatestByClass = map[string]int64{}
	for _, cl := range FailureClasses {
		s.LatestByClass[cl.String()] = 0
	}
	for _, e := range t.m {
		s.FailedObjects++
		if e.fail > e.ok {
			s.LatestFailed++
		} else {
			s.LaterSucceeded++
		}
		if e.fails > 1 {
			s.FailedSeveralTimes++
		}
	}
	s.Untracked = t.untracked
	if _, err := t.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(t.f, 1<<20)
	var rec spilled
	var buf []byte
	for i := int64(0); i < t.records; i++ {
		b := t.hdr[:]
		if _, err := io.ReadFull(br, b); err != nil {
			return fmt.Errorf("reading spill file %s: %w", t.f.Name(), err)
		}
		rec.seq = binary.LittleEndian.Uint32(b[0:])
		rec.class = Class(b[4])
		rec.untracked = b[5] == 1
		rec.route = binary.LittleEndian.Uint16(b[6:])
		bl := int(binary.LittleEndian.Uint32(b[8:]))
		kl := int(binary.LittleEndian.Uint32(b[12:]))
		vl := int(binary.LittleEndian.Uint32(b[16:]))
		if cap(buf) < bl+kl+vl {
			buf = make([]byte, bl+kl+vl)
		}
		buf = buf[:bl+kl+vl]
		if _, err := io.ReadFull(br, buf); err != nil {
			return fmt.Errorf("reading spill file %s: %w", t.f.Name(), err)
		}
		rec.bucket, rec.key, rec.version = buf[:bl], buf[bl:bl+kl], buf[bl+kl:]
		c := &counts[rec.class]
		c.rows++
		if rec.untracked {
			c.untracked++
			c.kept++
			s.LatestByClass[rec.class.String()]++
			if err := emit(&rec); err != nil {
				return err
			}
			continue
		}
		h := objectHash(rec.bucket, rec.key, rec.version)
		e := t.m[h]
		switch {
		case e.ok >= e.fail:
			c.laterSucceeded++
		case rec.seq != e.fail || e.fails&emittedBit != 0:
			c.superseded++
		default:
			e.fails |= emittedBit
			t.m[h] = e
			c.kept++
			s.LatestByClass[rec.class.String()]++
			if err := emit(&rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *tracker) close() error {
	if t.f == nil {
		return nil
	}
	name := t.f.Name()
	err := t.f.Close()
	if rerr := os.Remove(name); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	t.f = nil
	return err
}
