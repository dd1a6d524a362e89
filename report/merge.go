package report

import (
	"fmt"
	"sort"
	"strings"
)

// Defaults of MergeOptions.
const (
	DefaultPrefixDepth = 1
	DefaultMaxPrefixes = 100_000
	DefaultMaxMessages = 10_000
	DefaultMaxCodes    = 10_000
	// DefaultMaxTrackedFailures is the default of the ignored
	// MergeOptions.MaxTrackedFailures.
	//
	// Deprecated: failed objects are followed without a bound.
	DefaultMaxTrackedFailures = 10_000_000
	DefaultTop                = 20
)

// MergeOptions configure a Merger. Zero values take the defaults.
type MergeOptions struct {
	// PrefixDepth is the number of '/'-separated segments that make a key
	// prefix in ByPrefix; default 1 ("photos/" for "photos/2024/a.jpg").
	// Keys with fewer segments count under their folder ("" at the root).
	PrefixDepth int
	// MaxPrefixes bounds the distinct prefixes counted one by one; tasks
	// under further prefixes are summed in one "(other)" row. Default
	// 100,000.
	MaxPrefixes int
	// MaxMessages bounds the distinct normalised failure messages kept.
	// When full, the least frequent are pruned (lossy counting): counts of
	// the listed messages are then lower bounds, and the summary says so.
	// Default 10,000.
	MaxMessages int
	// MaxTrackedFailures is ignored.
	//
	// Deprecated: failed objects are now followed exactly in bounded memory
	// (external sorts that spill to SpillDir, see SortMemory), so there is
	// no bound on how many are followed.
	MaxTrackedFailures int
	// SortMemory bounds the bytes of failed rows (and of successes of
	// objects that failed) each of the merger's external sorts holds in
	// memory before it writes a sorted run to SpillDir; three such sorts
	// exist (failures, later successes, re-run rows). Merging the runs
	// adds at most about 5 MiB per sort (32 runs at once). Default 1 MiB.
	SortMemory int
	// Top is the number of messages, codes and prefixes the text table
	// shows; summary.json lists up to 10×Top messages and all codes.
	// Default 20.
	Top int
	// SpillDir receives the temporary files of the external sorts; ""
	// means the system's temporary folder. They are removed by Close.
	SpillDir string
	// Classes classifies failures; nil means NewClassifier().
	Classes *Classifier
}

func (o *MergeOptions) setDefaults() {
	if o.PrefixDepth <= 0 {
		o.PrefixDepth = DefaultPrefixDepth
	}
	if o.MaxPrefixes <= 0 {
		o.MaxPrefixes = DefaultMaxPrefixes
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = DefaultMaxMessages
	}
	if o.SortMemory <= 0 {
		o.SortMemory = DefaultSortMemory
	}
	if o.Top <= 0 {
		o.Top = DefaultTop
	}
	if o.Classes == nil {
		o.Classes = NewClassifier()
	}
}

type jobStat struct {
	tasks, succeeded, treated int64
	byClass                   [numClasses]int64
	files, schemaFiles        int
	rows                      int64
}

type codeStat struct {
	class  Class
	byHTTP map[int]int64
}

type prefixStat struct {
	tasks, failed int64
	name          string // bucket/prefix
	bucketLen     int
}

type msgStat struct {
	count   int64
	code    string
	example string
	at      rowPos // where example is
}

// Merger folds batches of result rows into one summary. Add must be
// called from one goroutine at a time; Close must be called (it removes
// the spill files).
type Merger struct {
	opt  MergeOptions
	jobs []*Job
	js   []jobStat

	total, succeeded, treated int64
	byClass                   [numClasses]int64
	http                      [1000]int64
	codes                     map[string]*codeStat
	otherCodes                int64
	prefixes                  map[string]*prefixStat
	prefixByHash              map[uint64]*prefixStat
	otherPrefix               prefixStat
	msgs                      map[string]*msgStat
	msgPruneAt                int64
	msgPruned                 int64
	sketch                    hll
	distinct                  *distinctCounter
	track                     *tracker
	acct                      *planAccount // report --plan; nil: the tracker follows failed objects
	routes                    []string
	routeIdx                  map[string]uint16
	warnings                  []string
	scratch                   []byte
}

// NewMerger returns a merger for the given jobs; every Batch passed to
// Add must come from a file of one of them (Batch.Source.Job).
func NewMerger(jobs []*Job, opt MergeOptions) (*Merger, error) {
	opt.setDefaults()
	m := &Merger{
		opt:          opt,
		jobs:         jobs,
		js:           make([]jobStat, len(jobs)),
		codes:        map[string]*codeStat{},
		prefixes:     map[string]*prefixStat{},
		prefixByHash: map[uint64]*prefixStat{},
		msgs:         map[string]*msgStat{},
		routeIdx:     map[string]uint16{},
	}
	for i, j := range jobs {
		if j.Order != i {
			return nil, fmt.Errorf("report: job %s has Order %d at index %d", j.ID, j.Order, i)
		}
		r := j.Route
		if r == "" {
			r = UnroutedRoute
		}
		if _, ok := m.routeIdx[r]; !ok {
			m.routeIdx[r] = uint16(len(m.routes))
			m.routes = append(m.routes, r)
		}
		m.js[i].files = len(j.Files)
	}
	m.track = newTracker(opt.SpillDir, opt.SortMemory)
	m.distinct = newDistinctCounter(opt.SpillDir, opt.SortMemory)
	return m, nil
}

// UnroutedRoute names the route of re-run shards whose job's route is not
// known (reports read by prefix rather than through jobs.json).
const UnroutedRoute = "unrouted"

// Warn records a warning that the summary will list.
func (m *Merger) Warn(format string, a ...any) {
	m.warnings = append(m.warnings, fmt.Sprintf(format, a...))
}

// FileDone records that a file was read in the given column order.
func (m *Merger) FileDone(f *ResultFile, order ColumnOrder, rows int64) {
	js := &m.js[f.Job.Order]
	if order == OrderSchema {
		js.schemaFiles++
	}
	js.rows += rows
}

// Add folds the rows of b, as ResultReader.ReadBatch or Run's pipeline
// parsed them (not b.Rows, which are only their view). It returns an
// error only when a spill file cannot be written (wrapping ErrSpill).
func (m *Merger) Add(b *Batch) error {
	job := b.Source.Job
	js := &m.js[job.Order]
	seq := uint32(job.Order + 1)
	route := m.routeIdx[routeName(job)]
	if b.depth != m.opt.PrefixDepth {
		b.setPrefixes(m.opt.PrefixDepth)
	}
	n := int64(len(b.offs))
	m.total += n
	js.tasks += n
	buf := b.buf
	for i := range b.offs {
		o := &b.offs[i]
		m.sketch.add(o.hash)
		if err := m.distinct.add(o.hash); err != nil {
			return err
		}
		m.http[o.http]++ // parseHTTP accepts 0 and 100 to 999
		ps := m.prefix(o.phash, buf[o.off[0]:o.ends[0]], buf[o.off[1]:o.pend])
		ps.tasks++
		if !o.fail {
			m.succeeded++
			js.succeeded++
			if m.acct != nil {
				if err := m.acct.result(job, o, buf, outSucceeded); err != nil {
					return err
				}
				continue
			}
			if !o.skip && m.track.mayHaveFailed(o.hash) {
				if err := m.track.succeed(o.hash, seq); err != nil {
					return err
				}
			}
			continue
		}
		code := buf[o.off[3]:o.ends[3]]
		http := int(o.http)
		cl := m.opt.Classes.Classify(http, code)
		if writtenAbsentVersion(buf[o.off[2]:o.ends[2]]) {
			cl = Permanent // no version has the id "\N" (DropAbsentVersion)
		}
		m.code(code, http, cl)
		if cl == Success {
			m.treated++
			js.treated++
			if m.acct != nil {
				if err := m.acct.result(job, o, buf, outSucceeded); err != nil {
					return err
				}
				continue
			}
			if m.track.mayHaveFailed(o.hash) {
				if err := m.track.succeed(o.hash, seq); err != nil {
					return err
				}
			}
			continue
		}
		m.byClass[cl]++
		js.byClass[cl]++
		ps.failed++
		m.message(code, buf[o.off[4]:o.ends[4]], rowPos{job.Order, b.Source.index, o.line})
		if m.acct != nil {
			if err := m.acct.result(job, o, buf, byte(cl)); err != nil {
				return err
			}
			continue
		}
		if err := m.track.fail(o.hash, seq, cl, route, buf[o.off[0]:o.ends[0]], buf[o.off[1]:o.ends[1]], buf[o.off[2]:o.ends[2]]); err != nil {
			return err
		}
	}
	return nil
}

// setPrefixes computes the rows' key prefixes for depth.
func (b *Batch) setPrefixes(depth int) {
	for i := range b.offs {
		o := &b.offs[i]
		key := b.buf[o.off[1]:o.ends[1]]
		pl := prefixLen(key, depth)
		o.pend = o.off[1] + int32(pl)
		o.phash = prefixHash(b.buf[o.off[0]:o.ends[0]], key[:pl])
	}
	b.depth = depth
}

func routeName(j *Job) string {
	if j.Route == "" {
		return UnroutedRoute
	}
	return j.Route
}

func (m *Merger) code(code []byte, http int, cl Class) {
	cs, ok := m.codes[string(code)]
	if !ok {
		if len(m.codes) >= DefaultMaxCodes {
			m.otherCodes++
			return
		}
		cs = &codeStat{class: cl, byHTTP: map[int]int64{}}
		m.codes[string(code)] = cs
	}
	cs.byHTTP[http]++
}

// prefix returns the counters of a key prefix: the key up to its
// PrefixDepth-th '/', or up to its last '/' when it has fewer. h is
// prefixHash(bucket, prefix): the prefix is looked up by it first, and by
// its name only the first time (or on a collision of hashes).
func (m *Merger) prefix(h uint64, bucket, prefix []byte) *prefixStat {
	if ps, ok := m.prefixByHash[h]; ok && ps.is(bucket, prefix) {
		return ps
	}
	s := append(m.scratch[:0], bucket...)
	s = append(s, '/')
	s = append(s, prefix...)
	m.scratch = s
	ps, ok := m.prefixes[string(s)]
	if !ok {
		if len(m.prefixes) >= m.opt.MaxPrefixes {
			return &m.otherPrefix
		}
		ps = &prefixStat{name: string(s), bucketLen: len(bucket)}
		m.prefixes[ps.name] = ps
	}
	if _, taken := m.prefixByHash[h]; !taken {
		m.prefixByHash[h] = ps
	}
	return ps
}

// is tells whether ps counts bucket/prefix.
func (ps *prefixStat) is(bucket, prefix []byte) bool {
	return len(ps.name) == len(bucket)+1+len(prefix) && ps.bucketLen == len(bucket) &&
		ps.name[:len(bucket)] == string(bucket) && ps.name[len(bucket)+1:] == string(prefix)
}

// rowPos is where a row is: its job, its file in the job, its line.
type rowPos struct {
	job, file int
	line      int64
}

func (a rowPos) before(b rowPos) bool {
	if a.job != b.job {
		return a.job < b.job
	}
	if a.file != b.file {
		return a.file < b.file
	}
	return a.line < b.line
}

// message counts a failure's normalised message. The example kept (and
// the code shown) is the one of the first row in job, file and line
// order, whatever order the files are read in.
func (m *Merger) message(code, msg []byte, at rowPos) {
	s := AppendNormalized(m.scratch[:0], msg)
	m.scratch = s
	ms, ok := m.msgs[string(s)]
	if !ok {
		if len(m.msgs) >= m.opt.MaxMessages {
			m.pruneMessages()
		}
		ms = &msgStat{code: string(code), example: shortenMsg(msg), at: at}
		m.msgs[string(s)] = ms
	} else if at.before(ms.at) {
		ms.code, ms.example, ms.at = string(code), shortenMsg(msg), at
	}
	ms.count++
}

// pruneMessages drops the least frequent messages (lossy counting): every
// message seen at most pruneAt times, raising pruneAt until at least a
// quarter of the slots are free.
func (m *Merger) pruneMessages() {
	for len(m.msgs) >= m.opt.MaxMessages*3/4 {
		m.msgPruneAt++
		for k, v := range m.msgs {
			if v.count <= m.msgPruneAt {
				m.msgPruned += v.count
				delete(m.msgs, k)
			}
		}
	}
}

func shortenMsg(v []byte) string {
	const max = 300
	if len(v) > max {
		return string(v[:max]) + "…"
	}
	return string(v)
}

// Close removes the merger's spill files.
func (m *Merger) Close() error {
	err := m.track.close()
	if derr := m.distinct.close(); err == nil {
		err = derr
	}
	return err
}

// Summary is summary.json.
type Summary struct {
	Version     int               `json:"version"`
	Tasks       TaskCounts        `json:"tasks"`
	ByClass     map[string]int64  `json:"by_class"`
	ByErrorCode []CodeCount       `json:"by_error_code"`
	ByHTTP      []StatusCount     `json:"by_http_status"`
	ByRoute     []RouteSummary    `json:"by_route"`
	ByJob       []JobSummary      `json:"by_job"`
	ByPrefix    PrefixSummary     `json:"by_prefix"`
	Messages    MessageSummary    `json:"top_messages"`
	Objects     ObjectSummary     `json:"objects"`
	Rerun       []RerunSummary    `json:"rerun"`
	Files       FileCounts        `json:"files"`
	Classes     map[string]string `json:"classes"`
	Warnings    []string          `json:"warnings"`
	// Plan accounts for every planned object (report --plan only).
	Plan *PlanSummary `json:"plan,omitempty"`
	// NotRun says, for reports read without their plan, that objects
	// which never ran cannot be listed; EndedEarly lists the jobs whose
	// reports show they failed at the failure threshold.
	NotRun     string   `json:"not_run,omitempty"`
	EndedEarly []string `json:"ended_early,omitempty"`
}

// TaskCounts counts tasks (report rows). Failed excludes failures whose
// class is success (TreatedAsSuccess); Total = Succeeded +
// TreatedAsSuccess + Failed.
type TaskCounts struct {
	Total            int64 `json:"total"`
	Succeeded        int64 `json:"succeeded"`
	TreatedAsSuccess int64 `json:"treated_as_success"`
	Failed           int64 `json:"failed"`
}

// CodeCount counts failed tasks by error code and HTTP status.
type CodeCount struct {
	Code       string `json:"code"`
	HTTPStatus int    `json:"http_status"`
	Class      Class  `json:"class"`
	Tasks      int64  `json:"tasks"`
}

// StatusCount counts tasks by HTTP status.
type StatusCount struct {
	HTTPStatus int   `json:"http_status"`
	Tasks      int64 `json:"tasks"`
}

// RouteSummary sums the jobs of one route.
type RouteSummary struct {
	Route     string           `json:"route"`
	Jobs      int              `json:"jobs"`
	Tasks     int64            `json:"tasks"`
	Succeeded int64            `json:"succeeded"`
	Failed    int64            `json:"failed"`
	ByClass   map[string]int64 `json:"by_class"`
}

// JobSummary counts one job's tasks.
type JobSummary struct {
	JobID              string           `json:"job_id"`
	Route              string           `json:"route,omitempty"`
	Shard              string           `json:"shard,omitempty"`
	Manifest           string           `json:"manifest"`
	ReportCreationDate string           `json:"report_creation_date,omitempty"`
	Files              int              `json:"files"`
	SchemaOrderFiles   int              `json:"schema_order_files,omitempty"`
	Tasks              int64            `json:"tasks"`
	Succeeded          int64            `json:"succeeded"`
	TreatedAsSuccess   int64            `json:"treated_as_success,omitempty"`
	Failed             int64            `json:"failed"`
	ByClass            map[string]int64 `json:"by_class"`
}

// PrefixSummary counts tasks by bucket and key prefix, most failures
// first. Other sums the prefixes past MaxPrefixes.
type PrefixSummary struct {
	Depth    int           `json:"depth"`
	Prefixes []PrefixCount `json:"prefixes"`
	Other    *PrefixCount  `json:"other,omitempty"`
}

// PrefixCount is one prefix's tasks; Prefix is "bucket/prefix".
type PrefixCount struct {
	Prefix string `json:"prefix"`
	Tasks  int64  `json:"tasks"`
	Failed int64  `json:"failed"`
}

// MessageSummary lists the most common normalised failure messages. When
// Approximate is set, some rare messages were pruned (PrunedTasks of them)
// and the counts listed are lower bounds (each may miss up to
// PruneThreshold).
type MessageSummary struct {
	Approximate    bool           `json:"approximate"`
	PruneThreshold int64          `json:"prune_threshold,omitempty"`
	PrunedTasks    int64          `json:"pruned_tasks,omitempty"`
	Messages       []MessageCount `json:"messages"`
}

// MessageCount is one normalised message.
type MessageCount struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Tasks   int64  `json:"tasks"`
	Example string `json:"example"`
}

// ObjectSummary counts objects (bucket, key, version id) rather than
// tasks: an object in several jobs counts once, with its latest outcome
// (the outcome in the newest job; a success in the same job as a failure
// wins). Failed objects are followed exactly, in bounded memory, and so
// is the number of distinct objects (Distinct); DistinctEstimate is a
// HyperLogLog estimate of the same (about 0.8% standard error), kept for
// the readers of older summaries.
type ObjectSummary struct {
	// Distinct is the exact number of distinct objects in the reports
	// (see distinctCounter).
	Distinct         int64 `json:"distinct"`
	DistinctEstimate int64 `json:"distinct_estimate"`
	// FailedObjects is the number of distinct objects that failed at least
	// once; LatestFailed of them still fail in their latest job,
	// LaterSucceeded succeeded in a later (or the same) job.
	FailedObjects  int64 `json:"failed_objects"`
	LatestFailed   int64 `json:"latest_failed"`
	LaterSucceeded int64 `json:"later_succeeded"`
	// FailedSeveralTimes counts objects with more than one failed task.
	FailedSeveralTimes int64 `json:"failed_several_times"`
	// LatestByClass splits LatestFailed by the class of the latest
	// failure: what the rerun manifests hold.
	LatestByClass map[string]int64 `json:"latest_by_class"`
	// Untracked is always zero: every failure is followed.
	//
	// Deprecated: kept so that older summaries still decode.
	Untracked int64 `json:"untracked_failures,omitempty"`
}

// RerunSummary describes one rerun/<class> plan directory. Dropped counts
// the objects of the class left out of it, by reason (DropAbsentVersion,
// DropNotWritable).
type RerunSummary struct {
	Class   string           `json:"class"`
	Dir     string           `json:"dir"`
	Objects int64            `json:"objects"`
	Shards  int              `json:"shards"`
	Dropped map[string]int64 `json:"dropped,omitempty"`
}

// FileCounts counts result files.
type FileCounts struct {
	Jobs             int `json:"jobs"`
	Files            int `json:"files"`
	SchemaOrderFiles int `json:"schema_order_files"`
}

// SummaryVersion is the version of the summary.json layout.
const SummaryVersion = 1

func classMap(c *[numClasses]int64) map[string]int64 {
	out := map[string]int64{}
	for _, cl := range FailureClasses {
		out[cl.String()] = c[cl]
	}
	return out
}

// summary builds the summary from the counters (without objects and rerun,
// which finish fills).
func (m *Merger) summary() *Summary {
	s := &Summary{Version: SummaryVersion, Classes: m.opt.Classes.Rules(), Warnings: append([]string{}, m.warnings...)}
	var failed int64
	for _, cl := range FailureClasses {
		failed += m.byClass[cl]
	}
	s.Tasks = TaskCounts{Total: m.total, Succeeded: m.succeeded, TreatedAsSuccess: m.treated, Failed: failed}
	s.ByClass = classMap(&m.byClass)
	for code, cs := range m.codes {
		for h, n := range cs.byHTTP {
			s.ByErrorCode = append(s.ByErrorCode, CodeCount{Code: code, HTTPStatus: h, Class: cs.class, Tasks: n})
		}
	}
	if m.otherCodes > 0 {
		s.ByErrorCode = append(s.ByErrorCode, CodeCount{Code: "(other)", Tasks: m.otherCodes})
		s.Warnings = append(s.Warnings, fmt.Sprintf("more than %d distinct error codes; %d failed tasks summed as (other)", DefaultMaxCodes, m.otherCodes))
	}
	sort.Slice(s.ByErrorCode, func(a, b int) bool {
		x, y := s.ByErrorCode[a], s.ByErrorCode[b]
		if x.Tasks != y.Tasks {
			return x.Tasks > y.Tasks
		}
		if x.Code != y.Code {
			return x.Code < y.Code
		}
		return x.HTTPStatus < y.HTTPStatus
	})
	for h, n := range m.http {
		if n > 0 {
			s.ByHTTP = append(s.ByHTTP, StatusCount{HTTPStatus: h, Tasks: n})
		}
	}
	routes := map[string]*RouteSummary{}
	rc := make([][numClasses]int64, len(m.routes))
	for i, j := range m.jobs {
		js := &m.js[i]
		var f int64
		for _, cl := range FailureClasses {
			f += js.byClass[cl]
		}
		s.ByJob = append(s.ByJob, JobSummary{
			JobID: j.ID, Route: j.Route, Shard: j.Shard, Manifest: j.Manifest,
			ReportCreationDate: j.Report.ReportCreationDate,
			Files:              js.files, SchemaOrderFiles: js.schemaFiles,
			Tasks: js.tasks, Succeeded: js.succeeded, TreatedAsSuccess: js.treated, Failed: f,
			ByClass: classMap(&js.byClass),
		})
		s.Files.Files += js.files
		s.Files.SchemaOrderFiles += js.schemaFiles
		rn := routeName(j)
		r := routes[rn]
		if r == nil {
			r = &RouteSummary{Route: rn}
			routes[rn] = r
		}
		r.Jobs++
		r.Tasks += js.tasks
		r.Succeeded += js.succeeded + js.treated
		r.Failed += f
		ri := m.routeIdx[rn]
		for cl := range js.byClass {
			rc[ri][cl] += js.byClass[cl]
		}
	}
	s.Files.Jobs = len(m.jobs)
	for _, rn := range m.routes {
		r := routes[rn]
		r.ByClass = classMap(&rc[m.routeIdx[rn]])
		s.ByRoute = append(s.ByRoute, *r)
	}
	sort.Slice(s.ByRoute, func(a, b int) bool { return s.ByRoute[a].Route < s.ByRoute[b].Route })
	s.ByPrefix.Depth = m.opt.PrefixDepth
	for p, ps := range m.prefixes {
		// Prefixes are counted as the reports write keys (raw); show them
		// decoded.
		name := string(displayKey([]byte(p[:ps.bucketLen+1]), []byte(p[ps.bucketLen+1:])))
		s.ByPrefix.Prefixes = append(s.ByPrefix.Prefixes, PrefixCount{Prefix: name, Tasks: ps.tasks, Failed: ps.failed})
	}
	sort.Slice(s.ByPrefix.Prefixes, func(a, b int) bool {
		x, y := s.ByPrefix.Prefixes[a], s.ByPrefix.Prefixes[b]
		if x.Failed != y.Failed {
			return x.Failed > y.Failed
		}
		if x.Tasks != y.Tasks {
			return x.Tasks > y.Tasks
		}
		return x.Prefix < y.Prefix
	})
	if m.otherPrefix.tasks > 0 {
		s.ByPrefix.Other = &PrefixCount{Prefix: "(other)", Tasks: m.otherPrefix.tasks, Failed: m.otherPrefix.failed}
		s.Warnings = append(s.Warnings, fmt.Sprintf("more than %d distinct prefixes at depth %d; %d tasks summed as (other)", m.opt.MaxPrefixes, m.opt.PrefixDepth, m.otherPrefix.tasks))
	}
	s.Messages.Approximate = m.msgPruneAt > 0
	s.Messages.PruneThreshold = m.msgPruneAt
	s.Messages.PrunedTasks = m.msgPruned
	for k, v := range m.msgs {
		s.Messages.Messages = append(s.Messages.Messages, MessageCount{Message: k, Code: v.code, Tasks: v.count, Example: v.example})
	}
	sort.Slice(s.Messages.Messages, func(a, b int) bool {
		x, y := s.Messages.Messages[a], s.Messages.Messages[b]
		if x.Tasks != y.Tasks {
			return x.Tasks > y.Tasks
		}
		return x.Message < y.Message
	})
	if max := 10 * m.opt.Top; len(s.Messages.Messages) > max {
		s.Messages.Messages = s.Messages.Messages[:max]
	}
	s.Objects.DistinctEstimate = m.sketch.estimate()
	if s.Files.SchemaOrderFiles > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d result files follow the ReportSchema column order (ErrorCode before HTTPStatusCode) instead of the order AWS writes; read accordingly", s.Files.SchemaOrderFiles))
	}
	return s
}

// keyPrefixDisplay renders an internal "bucket/prefix" for the terminal.
func keyPrefixDisplay(p string) string {
	if strings.HasSuffix(p, "/") && strings.Count(p, "/") == 1 {
		return p + "(root)"
	}
	return p
}
