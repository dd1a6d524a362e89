package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/csvscan"
	"github.com/s3batchkit/s3batchkit/manifest"
)

//go:embed peer/duckdb.mjs
var duckdbScript []byte

// DuckDBModule is the npm package the peer runs.
const DuckDBModule = "@duckdb/node-api"

// ErrNoPeer is returned by RunPeer when node or the DuckDB module is not
// installed.
var ErrNoPeer = errors.New("DuckDB peer not available")

// PeerOptions configure RunPeer.
type PeerOptions struct {
	// DuckDBDir is the folder npm installed @duckdb/node-api into
	// (npm install --prefix DIR @duckdb/node-api); required.
	DuckDBDir string
	// Node is the node program; "" means "node" on PATH.
	Node string
	// Planner is the s3batchkit command line (program and global flags);
	// the harness appends `plan ...`. Nil means this program.
	Planner []string
}

// PeerResult compares s3batchkit with DuckDB on the same task.
type PeerResult struct {
	DuckDB string `json:"duckdb_version"`
	Rows   int64  `json:"rows"`
	Runs   int    `json:"runs"`
	Task   string `json:"task"`
	// Build is the gzip decoder of the s3batchkit build measured
	// (inventory.GunzipImpl: "isa-l" or pure Go).
	Build   string       `json:"build"`
	Formats []PeerFormat `json:"formats"`
}

// PeerFormat is the comparison on one report.
type PeerFormat struct {
	// Format names the case: csv, parquet, parquet-duckdb (a Parquet
	// report written by DuckDB), parquet-duckdb-sorted (the same, its
	// files in key order) or orc (DuckDB on the same rows in Parquet).
	Format   string   `json:"format"`
	Report   string   `json:"report"` // what the report is, for the table
	PeerName string   `json:"peer"`
	Ours     PeerSide `json:"ours"`
	// Unsorted is s3batchkit planning the same report with --sort=false.
	Unsorted PeerSide `json:"unsorted"`
	Peer     PeerSide `json:"peer_side"`
	// WallRatio is the peer's wall time over ours (above 1: we are
	// faster); MemRatio is our peak over the peer's (below 1: we use
	// less); SortRatio is our sorted wall time over our unsorted one.
	WallRatio float64   `json:"wall_ratio"`
	MemRatio  float64   `json:"mem_ratio"`
	SortRatio float64   `json:"sort_ratio"`
	Check     PeerCheck `json:"check"`
}

// PeerSide is one side's runs.
type PeerSide struct {
	Command     string        `json:"command"`
	Runs        []Measurement `json:"runs"`
	WallSeconds float64       `json:"wall_s"` // median
	CPUSeconds  float64       `json:"cpu_s"`  // median
	PeakBytes   int64         `json:"peak_bytes"`
}

// PeerCheck is the comparison of the two outputs of the last run.
type PeerCheck struct {
	Rows int64  `json:"rows"` // rows in both outputs when Same
	Same bool   `json:"same"`
	Diff string `json:"diff,omitempty"` // the first difference
}

// peerTask says what both sides do.
const peerTask = "inventory → filter (" + BenchFilterText + ") → sort by bucket, key → CSV bucket,key"

// peerCase is one row of the comparison: the report s3batchkit plans
// and the one DuckDB reads (the same rows).
type peerCase struct {
	name, title string
	ours, peer  func(ctx context.Context) (string, error) // manifest.json of each side's report
}

// peerCases lists the comparisons the formats ask for.
func peerCases(o Options, p PeerOptions, script string, res *PeerResult) []peerCase {
	gen := func(format string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) { return EnsureReport(ctx, o, format, o.Rows) }
	}
	duck := func(sorted bool) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) { return ensureDuckDBParquet(ctx, o, p, script, sorted, res) }
	}
	var cases []peerCase
	for _, f := range o.Formats {
		switch f {
		case "csv":
			cases = append(cases, peerCase{"csv", "CSV.gz (gen)", gen("csv"), gen("csv")})
		case "parquet":
			cases = append(cases,
				peerCase{"parquet", "Parquet (gen)", gen("parquet"), gen("parquet")},
				peerCase{"parquet-duckdb", "Parquet written by DuckDB", duck(false), duck(false)},
				peerCase{"parquet-duckdb-sorted", "Parquet written by DuckDB, files in key order", duck(true), duck(true)})
		case "orc":
			cases = append(cases, peerCase{"orc", "ORC (gen); DuckDB on the same rows in Parquet", gen("orc"), gen("parquet")})
		}
	}
	return cases
}

// RunPeer runs the DuckDB comparison on each report the formats of
// o.Formats ask for (peerCases) at o.Rows rows: o.Runs rounds, each
// running s3batchkit's sorted plan, its unsorted plan and DuckDB, in an
// order that rotates from round to round; it checks that s3batchkit's
// sorted plan and DuckDB wrote the same rows.
func RunPeer(ctx context.Context, o Options, p PeerOptions) (*PeerResult, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	if p.Node == "" {
		p.Node = "node"
	}
	if p.Planner == nil {
		p.Planner = []string{exe()}
	}
	script, err := installScript(p)
	if err != nil {
		return nil, err
	}
	res := &PeerResult{Rows: o.Rows, Runs: o.Runs, Task: peerTask, Build: DescribeMachine().Gunzip}
	cases := peerCases(o, p, script, res)
	pr := &progress{fn: o.Progress, total: 3 * o.Runs * len(cases)}
	for _, pc := range cases {
		pf := PeerFormat{Format: pc.name, Report: pc.title, PeerName: "DuckDB"}
		pr.say(fmt.Sprintf("peer: preparing the %s report of %s rows", pc.title, count(o.Rows)))
		ourSpec := peerSpec{}
		if ourSpec.manifest, err = pc.ours(ctx); err != nil {
			return nil, err
		}
		unsortedSpec := peerSpec{manifest: ourSpec.manifest, unsorted: true}
		theirSpec := peerSpec{duckdb: true}
		if theirSpec.manifest, err = pc.peer(ctx); err != nil {
			return nil, err
		}
		work, err := os.MkdirTemp(o.TmpDir, "s3batchkit-bench-peer-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
		var ourOut, peerOut string
		for i := 0; i < o.Runs; i++ {
			sides := []struct {
				s    *peerSpec
				side *PeerSide
				out  *string
				name string
				what string
			}{{&ourSpec, &pf.Ours, &ourOut, "a", "s3batchkit"}, {&unsortedSpec, &pf.Unsorted, nil, "u", "s3batchkit --sort=false"},
				{&theirSpec, &pf.Peer, &peerOut, "b", "DuckDB"}}
			for k := 0; k < i%3; k++ {
				sides = append(sides[1:], sides[0])
			}
			for _, sd := range sides {
				pr.say(fmt.Sprintf("peer: %s, %s run %d/%d", pc.title, sd.what, i+1, o.Runs))
				out := filepath.Join(work, fmt.Sprintf("%s-%d", sd.name, i))
				cmd, ver, m, err := runPeerSide(ctx, o, p, script, sd.s, out)
				pr.done++
				if err != nil {
					return nil, fmt.Errorf("peer %s: %w", pc.name, err)
				}
				if ver != "" {
					res.DuckDB = ver
					pf.PeerName = "DuckDB " + ver
				}
				sd.side.Command = cmd
				sd.side.Runs = append(sd.side.Runs, m)
				if sd.out == nil {
					os.RemoveAll(out)
					continue
				}
				if i < o.Runs-1 {
					os.RemoveAll(out)
				}
				*sd.out = out
			}
		}
		pf.Ours.summarize()
		pf.Unsorted.summarize()
		pf.Peer.summarize()
		if pf.Ours.WallSeconds > 0 {
			pf.WallRatio = pf.Peer.WallSeconds / pf.Ours.WallSeconds
		}
		if pf.Unsorted.WallSeconds > 0 {
			pf.SortRatio = pf.Ours.WallSeconds / pf.Unsorted.WallSeconds
		}
		if pf.Peer.PeakBytes > 0 {
			pf.MemRatio = float64(pf.Ours.PeakBytes) / float64(pf.Peer.PeakBytes)
		}
		a, err := openPlanRows(ctx, ourOut)
		if err != nil {
			return nil, err
		}
		b, err := openCSVRows(peerOut)
		if err != nil {
			a.Close()
			return nil, err
		}
		pf.Check, err = compareRows(a, b)
		a.Close()
		b.Close()
		if err != nil {
			return nil, err
		}
		os.RemoveAll(work)
		res.Formats = append(res.Formats, pf)
	}
	return res, nil
}

type peerSpec struct {
	manifest string
	duckdb   bool
	unsorted bool // s3batchkit with --sort=false
}

// installScript copies the DuckDB script next to the node_modules folder
// it imports from and returns its path.
func installScript(p PeerOptions) (string, error) {
	if p.DuckDBDir == "" {
		return "", fmt.Errorf("%w: no DuckDB folder given", ErrNoPeer)
	}
	if _, err := exec.LookPath(p.Node); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoPeer, err)
	}
	if _, err := os.Stat(filepath.Join(p.DuckDBDir, "node_modules", DuckDBModule, "package.json")); err != nil {
		return "", fmt.Errorf("%w: %s is not installed in %s (npm install --prefix %s %s, or make bench-peer)",
			ErrNoPeer, DuckDBModule, p.DuckDBDir, p.DuckDBDir, DuckDBModule)
	}
	path := filepath.Join(p.DuckDBDir, "s3batchkit-bench-duckdb.mjs")
	if err := os.WriteFile(path, duckdbScript, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// runPeerSide runs one side once, writing to out (a plan folder for
// s3batchkit, a CSV file for DuckDB), and measures it.
func runPeerSide(ctx context.Context, o Options, p PeerOptions, script string, s *peerSpec, out string) (cmdline, version string, m Measurement, err error) {
	var argv []string
	if s.duckdb {
		threads := o.Workers
		if threads == 0 {
			threads = DescribeMachine().Cores
		}
		argv = []string{p.Node, script, s.manifest, out, strconv.Itoa(threads), strconv.Itoa(BenchMinSize), strings.Join(BenchStorageClasses, ",")}
	} else {
		argv = append(append([]string(nil), p.Planner...), "plan", "--inventory", s.manifest, "--out", out, "--routing", "none",
			"--min-size", strconv.Itoa(BenchMinSize), "--storage-class", strings.Join(BenchStorageClasses, ","), "--quiet")
		if s.unsorted {
			argv = append(argv, "--sort=false")
		}
		if o.Workers > 0 {
			argv = append(argv, "--workers", strconv.Itoa(o.Workers))
		}
		if o.TmpDir != "" {
			argv = append(argv, "--tmp-dir", o.TmpDir)
		}
	}
	var stdout, stderr bytes.Buffer
	m, err = measureCommand(ctx, o.Via, argv, &stdout, &stderr)
	cmdline = ShellJoin(argv)
	if err != nil {
		return cmdline, "", m, fmt.Errorf("%s: %w: %s", cmdline, err, strings.TrimSpace(stderr.String()))
	}
	if s.duckdb {
		var r struct {
			Version string `json:"version"`
			Rows    int64  `json:"rows"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			return cmdline, "", m, fmt.Errorf("%s: output %q: %w", cmdline, stdout.String(), err)
		}
		version = r.Version
		m.RowsKept = r.Rows
	}
	return cmdline, version, m, nil
}

func (s *PeerSide) summarize() {
	walls := make([]float64, len(s.Runs))
	cpus := make([]float64, len(s.Runs))
	for i, m := range s.Runs {
		walls[i] = m.WallSeconds
		cpus[i] = m.UserSeconds + m.SysSeconds
		s.PeakBytes = max(s.PeakBytes, m.PeakBytes)
	}
	s.WallSeconds = median(walls)
	s.CPUSeconds = median(cpus)
}

// Table renders the comparison.
func (r *PeerResult) Table() *Table {
	t := &Table{
		Title: fmt.Sprintf("against a peer, %s rows, %d run(s) each: %s (s3batchkit build: %s gunzip)", count(r.Rows), r.Runs, r.Task, r.Build),
		Head: []string{"report", "peer", "s3batchkit wall (CPU)", "unsorted wall (CPU)", "sorted / unsorted", "peer wall (CPU)", "speed-up",
			"s3batchkit peak", "peer peak", "same rows"},
	}
	for _, f := range r.Formats {
		same := "yes (" + count(f.Check.Rows) + ")"
		if !f.Check.Same {
			same = "NO"
			t.Notes = append(t.Notes, fmt.Sprintf("%s: outputs differ: %s", f.Report, f.Check.Diff))
		}
		wc := func(s PeerSide) string { return fmt.Sprintf("%s (%s)", Seconds(s.WallSeconds), Seconds(s.CPUSeconds)) }
		t.Rows = append(t.Rows, []string{f.Report, f.PeerName, wc(f.Ours), wc(f.Unsorted), fmt.Sprintf("%.2f×", f.SortRatio), wc(f.Peer),
			fmt.Sprintf("%.2f×", f.WallRatio), Bytes(f.Ours.PeakBytes), Bytes(f.Peer.PeakBytes), same})
	}
	t.Notes = append(t.Notes, "speed-up: peer wall / s3batchkit wall (medians of the runs; CPU in parentheses, user+sys); sorted / unsorted: s3batchkit's plan over its `plan --sort=false` on the same report; peaks: the largest resident set of the runs (node's own runtime included)")
	return t
}

// ensureDuckDBParquet returns the manifest of the Parquet report DuckDB
// writes from the rows of the generated Parquet report (in key order when
// sorted), writing it into the cache first unless a complete one is
// there.
func ensureDuckDBParquet(ctx context.Context, o Options, p PeerOptions, script string, sorted bool, res *PeerResult) (string, error) {
	src, err := EnsureReport(ctx, o, "parquet", o.Rows)
	if err != nil {
		return "", err
	}
	name := "parquet-duckdb"
	threads := 2
	order := "unsorted"
	if sorted {
		// One thread, so that the files follow each other in key order.
		name, threads, order = "parquet-duckdb-sorted", 1, "sorted"
	}
	dir := ReportDir(o.Dir, name, o.Rows, o.Files, o.Seed)
	marker := filepath.Join(dir, cacheMarker)
	if raw, err := os.ReadFile(marker); err == nil {
		var c cachedReport
		if json.Unmarshal(raw, &c) == nil && c.Manifest != "" {
			if _, err := os.Stat(c.Manifest); err == nil {
				return c.Manifest, nil
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p.Node, script, "--write", src, data, strconv.Itoa(threads), order)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("DuckDB writing %s: %w: %s", data, err, strings.TrimSpace(stderr.String()))
	}
	var out struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(stdout.Bytes(), &out) == nil && out.Version != "" {
		res.DuckDB = out.Version
	}
	c, err := writeManifestFor(src, dir, data)
	if err != nil {
		return "", err
	}
	raw, _ := json.Marshal(c)
	if err := os.WriteFile(marker, raw, 0o644); err != nil {
		return "", err
	}
	return c.Manifest, nil
}

// writeManifestFor writes dir/manifest.json (and manifest.checksum) for
// the Parquet files in data, in the order DuckDB numbered them, copying
// everything else from the manifest at src.
func writeManifestFor(src, dir, data string) (*cachedReport, error) {
	raw, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	var man map[string]any
	if err := json.Unmarshal(raw, &man); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	ents, err := os.ReadDir(data)
	if err != nil {
		return nil, err
	}
	num := func(name string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "data_"), ".parquet"))
		return n
	}
	slices.SortFunc(ents, func(a, b os.DirEntry) int { return num(a.Name()) - num(b.Name()) })
	c := &cachedReport{}
	var files []map[string]any
	for _, e := range ents {
		body, err := os.ReadFile(filepath.Join(data, e.Name()))
		if err != nil {
			return nil, err
		}
		sum := md5.Sum(body)
		files = append(files, map[string]any{"key": "data/" + e.Name(), "size": len(body), "MD5checksum": hex.EncodeToString(sum[:])})
		c.Files++
		c.Bytes += int64(len(body))
	}
	man["files"] = files
	out, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, err
	}
	c.Manifest = filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(c.Manifest, out, 0o644); err != nil {
		return nil, err
	}
	sum := md5.Sum(out)
	if err := os.WriteFile(filepath.Join(dir, "manifest.checksum"), []byte(hex.EncodeToString(sum[:])), 0o644); err != nil {
		return nil, err
	}
	return c, nil
}

// rowSource yields (bucket, key) pairs with keys decoded.
type rowSource interface {
	Next() (bucket, key string, err error) // io.EOF after the last row
	Close() error
}

// compareRows reads both sources to their ends and reports whether they
// hold the same rows in the same order, and the first difference.
func compareRows(a, b rowSource) (PeerCheck, error) {
	var c PeerCheck
	for {
		ab, ak, aerr := a.Next()
		bb, bk, berr := b.Next()
		if aerr != nil && aerr != io.EOF {
			return c, aerr
		}
		if berr != nil && berr != io.EOF {
			return c, berr
		}
		switch {
		case aerr == io.EOF && berr == io.EOF:
			c.Same = true
			return c, nil
		case aerr == io.EOF:
			c.Diff = fmt.Sprintf("s3batchkit ends after %d rows; the peer has more, from %s,%q", c.Rows, bb, bk)
			return c, nil
		case berr == io.EOF:
			c.Diff = fmt.Sprintf("the peer ends after %d rows; s3batchkit has more, from %s,%q", c.Rows, ab, ak)
			return c, nil
		case ab != bb || ak != bk:
			c.Diff = fmt.Sprintf("row %d: s3batchkit %s,%q, peer %s,%q", c.Rows+1, ab, ak, bb, bk)
			return c, nil
		}
		c.Rows++
	}
}

// planRows reads the shards of a plan directory in plan.json order,
// decoding each manifest line.
type planRows struct {
	dir    string
	shards []string
	f      *os.File
	sc     *bufio.Scanner
	path   string
	line   int
}

func openPlanRows(ctx context.Context, dir string) (*planRows, error) {
	plan, err := manifest.ReadPlan(ctx, nil, dir) // a local plan
	if err != nil {
		return nil, err
	}
	r := &planRows{dir: dir}
	for _, s := range plan.Shards {
		r.shards = append(r.shards, filepath.Join(dir, filepath.FromSlash(s.Path)))
	}
	return r, nil
}

func (r *planRows) Next() (string, string, error) {
	for {
		if r.sc != nil && r.sc.Scan() {
			r.line++
			row, err := manifest.ParseRow(r.sc.Bytes())
			if err != nil {
				return "", "", fmt.Errorf("%s:%d: %w", r.path, r.line, err)
			}
			return row.Bucket, row.Key, nil
		}
		if r.sc != nil {
			if err := r.sc.Err(); err != nil {
				return "", "", fmt.Errorf("%s: %w", r.path, err)
			}
			r.f.Close()
			r.sc = nil
		}
		if len(r.shards) == 0 {
			return "", "", io.EOF
		}
		f, err := os.Open(r.shards[0])
		if err != nil {
			return "", "", err
		}
		r.f, r.path, r.line, r.shards = f, r.shards[0], 0, r.shards[1:]
		r.sc = bufio.NewScanner(f)
		r.sc.Buffer(make([]byte, 64<<10), 1<<20)
	}
}

func (r *planRows) Close() error {
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}

// csvRows reads bucket,key rows of a plain CSV file (as DuckDB writes it:
// quoted where needed, keys not encoded), split by internal/csvscan.
type csvRows struct {
	f    *os.File
	r    *csvscan.Reader
	path string
	val  []byte
}

func openCSVRows(path string) (*csvRows, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &csvRows{f: f, r: csvscan.NewReader(f, csvscan.Options{MaxFields: 2}), path: path}, nil
}

func (c *csvRows) Next() (string, string, error) {
	rec, err := c.r.Next()
	if err == io.EOF {
		return "", "", io.EOF
	}
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", c.path, err)
	}
	if rec.N != 2 {
		return "", "", fmt.Errorf("%s: line %d: %d fields, want 2 (bucket,key)", c.path, rec.Line, rec.N)
	}
	buf := c.r.Bytes()
	c.val = rec.Fields[0].AppendValue(c.val[:0], buf)
	n := len(c.val)
	c.val = rec.Fields[1].AppendValue(c.val, buf)
	return string(c.val[:n]), string(c.val[n:]), nil
}

func (c *csvRows) Close() error { return c.f.Close() }

// ShellJoin quotes argv for display as a shell command line.
func ShellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '/' || r == '-' || r == '_' || r == '.' || r == ',' || r == '=' || r == ':' ||
				'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
		}) < 0 {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
