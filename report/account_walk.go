package report

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/s3batchkit/s3batchkit/internal/extsort"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// rerunPositions are the re-run plans of report --plan, in the order the
// summary lists them: the failure classes, then the objects not run.
var rerunPositions = func() []string {
	var out []string
	for _, cl := range FailureClasses {
		out = append(out, cl.String())
	}
	return append(out, NotRunClass)
}()

// rerunPos is the position in rerunPositions of an outcome byte.
func rerunPos(out byte) int {
	if out == outNotRun {
		return len(FailureClasses)
	}
	for i, cl := range FailureClasses {
		if byte(cl) == out {
			return i
		}
	}
	panic(fmt.Sprintf("report: outcome %d has no re-run plan", out))
}

// planWalker reads the join in order and gives every planned line its
// outcome, one object (planned lines and report rows of one shard and
// identity) at a time.
type planWalker struct {
	a  *planAccount
	rs *extsort.Sorter // the re-run sort; nil with NoRerun

	active  bool
	key     []byte // the object's join key (head and identity)
	shard   int
	arena   []byte
	planned []plannedLine
	results []joinResult
	rec     []byte

	drops   [4]map[string]int64 // by re-run position
	objects ObjectSummary
	shown   int // rows-not-in-plan examples shown
}

type plannedLine struct {
	number          int64
	flags           byte
	keyAt, rawAt, e int // key at arena[keyAt:rawAt], line at arena[rawAt:e]
}

// add takes the join's next record: its sort key k and value v (see
// joinSortKeyLen).
func (w *planWalker) add(k, v []byte) error {
	kl := joinKeyLen(k)
	if !w.active || !bytes.Equal(k[:kl], w.key) {
		if err := w.flush(); err != nil {
			return err
		}
		w.active = true
		w.key = append(w.key[:0], k[:kl]...)
		w.shard = int(binary.BigEndian.Uint32(k))
	}
	body := k[kl+1:]
	if k[kl] == 0 {
		// The line number ends the key; flags, the decoded key and the
		// line are the value.
		klen := int(binary.BigEndian.Uint32(v[1:]))
		p := plannedLine{number: int64(binary.BigEndian.Uint64(body)), flags: v[0], keyAt: len(w.arena)}
		w.arena = append(w.arena, v[5:5+klen]...)
		p.rawAt = len(w.arena)
		w.arena = append(w.arena, v[5+klen:]...)
		p.e = len(w.arena)
		w.planned = append(w.planned, p)
		return nil
	}
	w.results = append(w.results, joinResult{entry: int(binary.BigEndian.Uint32(body)), out: body[4]})
	return nil
}

// flush ends the current object.
func (w *planWalker) flush() error {
	if !w.active {
		return nil
	}
	defer func() {
		w.active = false
		w.arena, w.planned, w.results = w.arena[:0], w.planned[:0], w.results[:0]
	}()
	a := w.a
	if len(w.planned) == 0 {
		a.probs.RowsNotInPlan += int64(len(w.results))
		if w.shown < 5 {
			w.shown++
			bucket, key, version := joinIdentity(w.key)
			job := a.entries[w.results[0].entry].rj.JobID
			a.warn("job %s: a report row (bucket %q, key %q, version id %q) matches no line of shard %s: the report and the shard do not agree", job, bucket, key, version, a.shards[w.shard].info.Path)
		}
		return nil
	}
	out, reason := a.decide(w.shard, w.results)
	fails := 0
	for _, r := range w.results {
		if r.out != outSucceeded {
			fails++
		}
	}
	if fails > 0 {
		o := &w.objects
		o.FailedObjects++
		switch {
		case out == outSucceeded:
			o.LaterSucceeded++
		case out != outNotRun:
			o.LatestFailed++
			o.LatestByClass[Class(out).String()]++
		}
		if fails > 1 {
			o.FailedSeveralTimes++
		}
	}
	sh := &a.shards[w.shard]
	for _, p := range w.planned {
		o, why, drop := out, reason, ""
		if p.flags&absentVersionFlag != 0 && o != outSucceeded {
			// No version has the id "\N": no run can succeed.
			o, why, drop = byte(Permanent), "", DropAbsentVersion
			a.probs.AbsentVersionIDs++
		}
		sh.count(o, why, 1)
		if o == outSucceeded {
			continue
		}
		pos := rerunPos(o)
		if drop != "" {
			w.drop(pos, drop, 1)
			continue
		}
		if w.rs != nil {
			w.rec = appendPlanRerun(w.rec[:0], pos, a.routeRank[sh.info.Route], sh.info.Bucket, versionsKind(sh.info), w.shard, p.number,
				w.arena[p.keyAt:p.rawAt], w.arena[p.rawAt:p.e])
			k := planRerunKeyLen(w.rec)
			if err := w.rs.Add(w.rec[:k], w.rec[k:]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *planWalker) drop(pos int, reason string, n int64) {
	if w.drops[pos] == nil {
		w.drops[pos] = map[string]int64{}
	}
	w.drops[pos][reason] += n
}

// joinIdentity splits a join key's identity into bucket, key and version.
func joinIdentity(key []byte) (bucket, k, version []byte) {
	b := key[joinHead:]
	var out [3][]byte
	for i := range out {
		n := int(binary.BigEndian.Uint32(b))
		out[i], b = b[4:4+n], b[4+n:]
	}
	return out[0], out[1], out[2]
}

// count counts n planned lines of the shard with outcome o.
func (sh *acctShard) count(o byte, why string, n int64) {
	s := &sh.sum
	s.Planned += n
	switch o {
	case outSucceeded:
		s.Succeeded += n
	case outNotRun:
		s.NotRun += n
		if s.NotRunByReason == nil {
			s.NotRunByReason = map[string]int64{}
		}
		s.NotRunByReason[why] += n
	default:
		s.Failed += n
		sh.failed[o] += n
	}
}

// The kinds of rows a shard holds, as re-run records carry them, in the
// order re-run shards are cut: rows without version ids, then noncurrent
// versions, current versions, and versioned rows of a plan that does not
// say which (written before current/noncurrent were told apart). Re-run
// shards never mix kinds, as plan's shards do not: the jobs of current
// versions must start after those of noncurrent ones (docs/formats.md#versioned-copies).
const (
	kindUnversioned byte = iota
	kindNoncurrent
	kindCurrent
	kindVersioned
)

// versionsKind is the kind of the rows of a planned shard.
func versionsKind(sh manifest.Shard) byte {
	switch {
	case !sh.VersionIDs:
		return kindUnversioned
	case sh.Versions == manifest.VersionsNoncurrent:
		return kindNoncurrent
	case sh.Versions == manifest.VersionsCurrent:
		return kindCurrent
	}
	return kindVersioned
}

// kindVersions is the Shard.Versions value of a re-run shard of kind k.
func kindVersions(k byte) string {
	switch k {
	case kindNoncurrent:
		return manifest.VersionsNoncurrent
	case kindCurrent:
		return manifest.VersionsCurrent
	}
	return ""
}

// Re-run records of report --plan: position (1 byte), route rank (2,
// big-endian), the bucket after its length (4), kind (1: versionsKind),
// shard (4), line number (8), the decoded key after its length (4), then
// the line. The sort's key is the record up to the line number
// (planRerunKeyLen): records sort by position, route, bucket length and
// bytes, kind, then plan order (shard, line), and no two keys are equal.
func appendPlanRerun(b []byte, pos int, route uint16, bucket string, kind byte, shard int, line int64, key, raw []byte) []byte {
	b = append(b, byte(pos))
	b = binary.BigEndian.AppendUint16(b, route)
	b = binary.BigEndian.AppendUint32(b, uint32(len(bucket)))
	b = append(b, bucket...)
	b = append(b, kind)
	b = binary.BigEndian.AppendUint32(b, uint32(shard))
	b = binary.BigEndian.AppendUint64(b, uint64(line))
	b = binary.BigEndian.AppendUint32(b, uint32(len(key)))
	b = append(b, key...)
	return append(b, raw...)
}

// planRerunKeyLen is the length of a re-run record up to its line number.
func planRerunKeyLen(rec []byte) int { return 7 + int(binary.BigEndian.Uint32(rec[3:])) + 1 + 4 + 8 }

// planRerunRow is a decoded re-run record.
type planRerunRow struct {
	pos       int
	route     uint16
	bucket    []byte
	kind      byte
	key, line []byte
}

// decodePlanRerun decodes a re-run record: its sort key k and value v.
func decodePlanRerun(k, v []byte) planRerunRow {
	bl := int(binary.BigEndian.Uint32(k[3:]))
	r := planRerunRow{pos: int(k[0]), route: binary.BigEndian.Uint16(k[1:]), bucket: k[7 : 7+bl], kind: k[7+bl]}
	kl := int(binary.BigEndian.Uint32(v))
	r.key, r.line = v[4:4+kl], v[4+kl:]
	return r
}

// finish walks the join (every planned line gets its outcome), fills
// s.Plan and s.Objects, and writes the re-run plans: one per failure
// class and rerun/not-run, each holding its objects' planned lines.
func (a *planAccount) finish(ctx context.Context, m *Merger, s *Summary, jobs []*Job) error {
	defer a.join.Close()
	w := &planWalker{a: a}
	w.objects.LatestByClass = map[string]int64{}
	for _, cl := range FailureClasses {
		w.objects.LatestByClass[cl.String()] = 0
	}
	if !a.opt.NoRerun {
		w.rs = newSort(m.opt.SpillDir, m.opt.SortMemory, false) // keys differ
		defer w.rs.Close()
	}
	it, err := finishSort(ctx, a.join)
	if err != nil {
		return err
	}
	for it.Next() {
		if err := w.add(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	it.Close()
	if err := it.Err(); err != nil {
		return err
	}
	// The join's runs are read: free its disk before the re-run plans.
	a.join.Close()
	if err := w.flush(); err != nil {
		return err
	}
	for i := range a.shards {
		sh := &a.shards[i]
		if sh.badLines > 0 {
			sh.count(byte(Permanent), "", sh.badLines)
			w.drop(rerunPos(byte(Permanent)), DropBadLine, sh.badLines)
		}
		if sh.unreadable {
			sh.count(outNotRun, NotRunShardUnreadable, sh.info.Objects)
			w.drop(rerunPos(outNotRun), NotRunShardUnreadable, sh.info.Objects)
		}
	}
	if err := a.summarize(s, w, m); err != nil {
		return err
	}
	s.Objects.FailedObjects, s.Objects.LatestFailed, s.Objects.LaterSucceeded = w.objects.FailedObjects, w.objects.LatestFailed, w.objects.LaterSucceeded
	s.Objects.FailedSeveralTimes, s.Objects.LatestByClass = w.objects.FailedSeveralTimes, w.objects.LatestByClass
	if a.opt.NoRerun {
		return nil
	}
	return a.writeReruns(ctx, s, w, jobs)
}

// summarize fills s.Plan from the shards' counts and checks that they
// add up.
func (a *planAccount) summarize(s *Summary, w *planWalker, m *Merger) error {
	ps := &PlanSummary{Dir: a.dir, Shards: len(a.shards), FailedByClass: map[string]int64{}, NotRunByReason: map[string]int64{}, ByJob: []PlanJobSummary{}}
	for _, cl := range FailureClasses {
		ps.FailedByClass[cl.String()] = 0
	}
	for _, e := range a.entries {
		if !e.dup {
			ps.Jobs++
		}
	}
	for i := range a.shards {
		sh := &a.shards[i]
		sum := sh.sum
		sum.FailedByClass = map[string]int64{}
		for _, cl := range FailureClasses {
			sum.FailedByClass[cl.String()] = sh.failed[cl]
			ps.FailedByClass[cl.String()] += sh.failed[cl]
		}
		sum.Jobs = len(sh.entries)
		if n := len(sh.entries); n > 0 {
			e := &a.entries[sh.entries[n-1]]
			sum.JobID, sum.Status, sum.Report = e.rj.JobID, statusText(e.status), e.job != nil
			// An AllTasks report (it lists successes) of a Complete job
			// lists every task.
			if j := e.job; j != nil && e.status == StatusComplete && !j.incomplete && hasSucceededFile(j) && !sh.unreadable {
				if tasks := m.js[j.Order].tasks; tasks != sh.lines {
					a.warn("job %s (shard %s) is Complete and its report lists successes (AllTasks), yet it holds %d tasks for the shard's %d lines", j.ID, sh.info.Path, tasks, sh.lines)
				}
			}
		}
		if sum.Planned != sum.Succeeded+sum.Failed+sum.NotRun {
			return fmt.Errorf("report: internal error: shard %s: %d planned != %d succeeded + %d failed + %d not run", sh.info.Path, sum.Planned, sum.Succeeded, sum.Failed, sum.NotRun)
		}
		for k, v := range sum.NotRunByReason {
			ps.NotRunByReason[k] += v
		}
		ps.Planned += sum.Planned
		ps.Succeeded += sum.Succeeded
		ps.Failed += sum.Failed
		ps.NotRun += sum.NotRun
		ps.ByJob = append(ps.ByJob, sum)
	}
	ps.Problems = a.probs
	s.Plan = ps
	return nil
}

func hasSucceededFile(j *Job) bool {
	for _, f := range j.Files {
		if !f.Failed {
			return true
		}
	}
	return false
}

// writeReruns writes DIR2/rerun/<class>/ and DIR2/rerun/not-run/ from the
// re-run sort: shards never mix routes, buckets, or lines with and
// without version ids; within them lines keep plan order.
func (a *planAccount) writeReruns(ctx context.Context, s *Summary, w *planWalker, jobs []*Job) error {
	it, err := finishSort(ctx, w.rs)
	if err != nil {
		return err
	}
	defer it.Close()
	var inputs []manifest.Input
	for _, j := range jobs {
		inputs = append(inputs, manifest.Input{Manifest: j.Manifest, MD5: j.ManifestMD5, ChecksumVerified: true, Format: ReportFormat, CreationTimestamp: j.Report.ReportCreationDate, Files: len(j.Files), Columns: "Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode, ResultMessage"})
	}
	pending := it.Next()
	var rows [4]int64
	for i := range a.shards {
		sh := &a.shards[i]
		for _, cl := range FailureClasses {
			rows[rerunPos(byte(cl))] += sh.failed[cl]
		}
		rows[rerunPos(outNotRun)] += sh.sum.NotRun
	}
	for pos, name := range rerunPositions {
		dir := objio.Join(objio.Join(a.opt.Out, RerunDir), name)
		pd, err := manifest.CreatePlanDir(a.opt.IO, dir)
		if err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		var sw *manifest.ShardWriter
		var curRoute uint16
		var curBucket []byte
		var curKind byte
		var kept int64
		for pending {
			r := decodePlanRerun(it.Key(), it.Value())
			if r.pos != pos {
				break
			}
			if sw == nil || sw.Objects() >= a.opt.MaxShardObjects || r.route != curRoute || r.kind != curKind || !bytes.Equal(r.bucket, curBucket) {
				if sw, err = pd.NewShardOf(a.routes[r.route], string(r.bucket), r.kind != kindUnversioned, kindVersions(r.kind)); err != nil {
					pd.Abort()
					return err
				}
				curRoute, curKind = r.route, r.kind
				curBucket = append(curBucket[:0], r.bucket...)
			}
			if err := sw.AddLine(r.line, r.key); err != nil {
				pd.Abort()
				return err
			}
			kept++
			pending = it.Next()
		}
		if err := it.Err(); err != nil {
			pd.Abort()
			return err
		}
		if err := ctx.Err(); err != nil {
			pd.Abort()
			return err
		}
		plan := &manifest.Plan{
			Inputs:   inputs,
			Options:  map[string]any{"source": "report", "plan": a.dir, "class": name, "max_objects": a.opt.MaxShardObjects},
			Counters: manifest.Counters{RowsRead: rows[pos], RowsKept: kept, Dropped: map[string]int64{}},
		}
		for reason, n := range w.drops[pos] {
			plan.Counters.Dropped[reason] = n
		}
		var dropped int64
		for _, n := range w.drops[pos] {
			dropped += n
		}
		if kept+dropped != rows[pos] {
			pd.Abort()
			return fmt.Errorf("report: internal error: rerun/%s: %d lines written + %d dropped != %d objects", name, kept, dropped, rows[pos])
		}
		if err := pd.Commit(ctx, plan); err != nil {
			pd.Abort()
			return fmt.Errorf("writing %s: %w", objio.Join(dir, manifest.PlanFile), err)
		}
		s.Rerun = append(s.Rerun, RerunSummary{Class: name, Dir: dir, Objects: kept, Shards: len(plan.Shards), Dropped: w.drops[pos]})
	}
	return nil
}
