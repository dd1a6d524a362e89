package diff

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// classifier receives the merge's verdicts, in key order (then version id
// order within a key). The Objects are valid only during the call.
type classifier interface {
	onlySource(s *Object) error
	onlyTarget(t *Object) error
	both(s, t *Object, r Verdict) error
}

// nextFunc returns a side's next sorted batch, or io.EOF after the last.
// The caller owns the batch and releases it.
type nextFunc func(ctx context.Context) (arrow.RecordBatch, error)

// cursor walks one side's sorted batches row by row.
type cursor struct {
	side     string // "source" or "target"
	manifest string // for errors
	next     nextFunc
	fields   inventory.FieldSet

	rec  arrow.RecordBatch
	cols batchCols
	row  int
	n    int
	done bool

	started bool
	prevKey []byte // key of the previous group, for the order check
	bucket  []byte // the side's bucket, for the one-bucket check

	dropped int64 // rows dropped as extra rows of a key (current versions)
}

// batchCols is typed access to a batch's columns by field.
type batchCols struct {
	strs  [inventory.NumFields]*array.String
	ints  [inventory.NumFields][]int64
	iarr  [inventory.NumFields]arrow.Array
	bools [inventory.NumFields]*array.Boolean
}

func newBatchCols(rec arrow.RecordBatch, fields inventory.FieldSet) batchCols {
	var c batchCols
	b := inventory.Batch{Rec: rec, Fields: fields}
	for _, f := range fields.List() {
		switch f.Kind() {
		case inventory.KindBool:
			c.bools[f] = b.Bools(f)
		case inventory.KindInt64, inventory.KindTimestamp:
			c.ints[f], c.iarr[f] = b.Int64s(f)
		default:
			c.strs[f] = b.Strings(f)
		}
	}
	return c
}

func (c *batchCols) str(f inventory.Field, r int) []byte {
	a := c.strs[f]
	if a == nil || a.IsNull(r) {
		return nil
	}
	return inventory.StringBytes(a, r)
}

func (c *batchCols) int(f inventory.Field, r int) (int64, bool) {
	a := c.iarr[f]
	if a == nil || a.IsNull(r) {
		return 0, false
	}
	return c.ints[f][r], true
}

func (c *batchCols) boolean(f inventory.Field, r int) (v, ok bool) {
	a := c.bools[f]
	if a == nil || a.IsNull(r) {
		return false, false
	}
	return a.Value(r), true
}

// fill makes the current row available, loading batches as needed; it
// sets done at the end of the stream.
func (c *cursor) fill(ctx context.Context) error {
	for !c.done && c.row >= c.n {
		if c.rec != nil {
			c.rec.Release()
			c.rec = nil
		}
		rec, err := c.next(ctx)
		if err == io.EOF {
			c.done = true
			return nil
		}
		if err != nil {
			return err
		}
		c.rec, c.row, c.n = rec, 0, int(rec.NumRows())
		c.cols = newBatchCols(rec, c.fields)
	}
	return nil
}

func (c *cursor) key() []byte { return c.cols.str(inventory.Key, c.row) }

func (c *cursor) release() {
	if c.rec != nil {
		c.rec.Release()
		c.rec = nil
	}
}

func (c *cursor) errAt(key []byte, err error) error {
	return &SideError{Side: c.side, Manifest: c.manifest, Key: string(key), Err: err}
}

// group holds the rows of one key from one side, copied out of the
// batches (a key's rows may span batches). Its buffers are reused from
// key to key.
type group struct {
	key  []byte
	objs []Object
	bufs [][]byte // one arena per object, reused
	n    int
}

// readGroup reads the rows of the current key into g, checking that keys
// ascend and that the bucket never changes. The cursor must have a row.
func (c *cursor) readGroup(ctx context.Context, g *group) error {
	key := c.key()
	if c.started {
		if cmp := bytes.Compare(key, c.prevKey); cmp <= 0 {
			return c.errAt(key, fmt.Errorf("%w: key %q comes after %q", ErrUnsorted, key, c.prevKey))
		}
	}
	bkt := c.cols.str(inventory.Bucket, c.row)
	if !c.started {
		c.bucket = append(c.bucket[:0], bkt...)
	} else if !bytes.Equal(bkt, c.bucket) {
		return c.errAt(key, fmt.Errorf("%w: bucket %q after %q", ErrMixedBuckets, bkt, c.bucket))
	}
	c.started = true
	c.prevKey = append(c.prevKey[:0], key...)
	g.key = append(g.key[:0], key...)
	g.n = 0
	for {
		g.add(&c.cols, c.row)
		c.row++
		if err := c.fill(ctx); err != nil {
			return err
		}
		if c.done || !bytes.Equal(c.key(), g.key) {
			return nil
		}
		if b := c.cols.str(inventory.Bucket, c.row); !bytes.Equal(b, c.bucket) {
			return c.errAt(g.key, fmt.Errorf("%w: bucket %q after %q", ErrMixedBuckets, b, c.bucket))
		}
	}
}

// add copies row r of cs into the group.
func (g *group) add(cs *batchCols, r int) {
	if g.n == len(g.objs) {
		g.objs = append(g.objs, Object{})
		g.bufs = append(g.bufs, nil)
	}
	o := &g.objs[g.n]
	buf := g.bufs[g.n][:0]
	// Copy every string into one arena, then slice it: the arena may move
	// while it grows, so the slices are taken at the end.
	var offs [8]int
	fields := [8]inventory.Field{inventory.Bucket, inventory.Key, inventory.VersionID, inventory.ETag,
		inventory.StorageClass, inventory.IntelligentTieringAccessTier, inventory.ChecksumAlgorithm, inventory.EncryptionStatus}
	for i, f := range fields {
		buf = append(buf, cs.str(f, r)...)
		offs[i] = len(buf)
	}
	g.bufs[g.n] = buf
	part := func(i int) []byte {
		start := 0
		if i > 0 {
			start = offs[i-1]
		}
		return buf[start:offs[i]:offs[i]]
	}
	o.Bucket, o.Key, o.VersionID, o.ETag = part(0), part(1), part(2), part(3)
	o.StorageClass, o.TieringTier, o.ChecksumAlgorithm, o.EncryptionStatus = part(4), part(5), part(6), part(7)
	o.Size, o.HasSize = cs.int(inventory.Size, r)
	o.LastModified, o.HasLastModified = cs.int(inventory.LastModifiedDate, r)
	o.Multipart, o.HasMultipart = cs.boolean(inventory.IsMultipartUploaded, r)
	o.Latest, o.HasLatest = cs.boolean(inventory.IsLatest, r)
	g.n++
}

// merger is the single merge pass over the two sorted sides.
type merger struct {
	src, tgt    *cursor
	cmp         Compare
	allVersions bool
	out         classifier
	sg, tg      group
}

// run merges until both sides end. Keys compare as bytes, as the sort
// orders them.
func (m *merger) run(ctx context.Context) error {
	defer m.src.release()
	defer m.tgt.release()
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := m.src.fill(ctx); err != nil {
			return err
		}
		if err := m.tgt.fill(ctx); err != nil {
			return err
		}
		var c int
		switch {
		case m.src.done && m.tgt.done:
			return nil
		case m.src.done:
			c = 1
		case m.tgt.done:
			c = -1
		default:
			c = bytes.Compare(m.src.key(), m.tgt.key())
		}
		var sg, tg *group
		if c <= 0 {
			if err := m.src.readGroup(ctx, &m.sg); err != nil {
				return err
			}
			sg = &m.sg
		}
		if c >= 0 {
			if err := m.tgt.readGroup(ctx, &m.tg); err != nil {
				return err
			}
			tg = &m.tg
		}
		if err := m.classify(sg, tg); err != nil {
			return err
		}
	}
}

// classify hands the rows of one key to the classifier. Comparing current
// versions, each side contributes its first row (the newest, by the sort's
// order), and further rows are dropped and counted. Comparing all
// versions, rows match by version id.
func (m *merger) classify(sg, tg *group) error {
	if !m.allVersions {
		var s, t *Object
		if sg != nil {
			s = &sg.objs[0]
			m.src.dropped += int64(sg.n - 1)
		}
		if tg != nil {
			t = &tg.objs[0]
			m.tgt.dropped += int64(tg.n - 1)
		}
		return m.pair(s, t)
	}
	var ss, ts []Object
	if sg != nil {
		ss = sg.objs[:sg.n]
		sortByVersion(ss)
	}
	if tg != nil {
		ts = tg.objs[:tg.n]
		sortByVersion(ts)
	}
	i, j := 0, 0
	for i < len(ss) || j < len(ts) {
		var c int
		switch {
		case i == len(ss):
			c = 1
		case j == len(ts):
			c = -1
		default:
			c = bytes.Compare(ss[i].VersionID, ts[j].VersionID)
		}
		var s, t *Object
		if c <= 0 {
			s = &ss[i]
			i++
		}
		if c >= 0 {
			t = &ts[j]
			j++
		}
		if err := m.pair(s, t); err != nil {
			return err
		}
	}
	return nil
}

func sortByVersion(objs []Object) {
	if len(objs) > 1 {
		slices.SortFunc(objs, func(a, b Object) int { return bytes.Compare(a.VersionID, b.VersionID) })
	}
}

func (m *merger) pair(s, t *Object) error {
	switch {
	case t == nil:
		return m.out.onlySource(s)
	case s == nil:
		return m.out.onlyTarget(t)
	}
	return m.out.both(s, t, m.cmp.Changed(s, t))
}
