package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/report"
)

// malformedRoot is the corpus of broken inputs at the repository root
// (testdata/malformed/README.md lists the cases).
const malformedRoot = "../../testdata/malformed"

// copyTree copies the files under src to dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), raw, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// editManifest rewrites DIR/manifest.json through edit and keeps
// manifest.checksum in step with it, so that only the edit is wrong.
func editManifest(t testing.TB, dir string, edit func(m map[string]any)) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	raw, _ = json.Marshal(m)
	writeManifest(t, dir, raw)
}

func writeManifest(t testing.TB, dir string, raw []byte) {
	t.Helper()
	if _, err := gen.WriteManifest(dir, raw); err != nil {
		t.Fatal(err)
	}
}

// replaceDataFile writes data as the manifest's first data file and fixes
// its size and MD5 in manifest.json: the checksums pass and the reader
// meets the broken bytes.
func replaceDataFile(t testing.TB, dir string, data func(old []byte) []byte) string {
	t.Helper()
	var path string
	editManifest(t, dir, func(m map[string]any) {
		f := m["files"].([]any)[0].(map[string]any)
		path = filepath.Join(dir, filepath.FromSlash(f["key"].(string)))
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b := data(old)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(b)
		f["size"] = len(b)
		f["MD5checksum"] = hex.EncodeToString(sum[:])
	})
	return path
}

func half(b []byte) []byte { return b[:len(b)/2] }

// genReport writes a small generated report of format into dir.
func genReport(t testing.TB, dir, format string) {
	t.Helper()
	if _, err := gen.Generate(context.Background(), gen.Options{Rows: 400, Format: format, Out: dir, Seed: 3, Files: 1, Workers: 1}); err != nil {
		t.Fatal(err)
	}
}

// tree lists the files and folders under dir (relative, sorted).
func tree(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// inv builds the inventory case name of the corpus into work/input and
// returns the manifest path.
func inv(t *testing.T, work, name string) string {
	t.Helper()
	buildReport(t, filepath.Join(malformedRoot, "inventory", name), filepath.Join(work, "input"))
	return filepath.Join(work, "input", "manifest.json")
}

type malformedCase struct {
	name string
	// setup prepares the input in work (a fresh folder) and returns the
	// command line; the output folder, if any, is work/out.
	setup    func(t *testing.T, work string) []string
	wantErr  error
	wantCode int
}

func planOf(manifest, work string) []string {
	return []string{"plan", "--inventory", manifest, "--out", filepath.Join(work, "out"), "--quiet"}
}

// plainInventory is a case of the corpus planned as it is.
func plainInventory(name string, want error) malformedCase {
	return malformedCase{name: "plan/" + name, wantErr: want, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
		return planOf(inv(t, work, name), work)
	}}
}

func malformedCases() []malformedCase {
	cases := []malformedCase{
		plainInventory("wrong-column-count", inventory.ErrFieldCount),
		plainInventory("extra-column", inventory.ErrFieldCount),
		plainInventory("wrong-type-size", inventory.ErrBadValue),
		plainInventory("wrong-type-date", inventory.ErrBadValue),
		plainInventory("negative-size", inventory.ErrBadValue),
		plainInventory("bad-percent-escape", inventory.ErrBadEscape),
		plainInventory("truncated-percent-escape", inventory.ErrBadEscape),
		plainInventory("invalid-utf8-escaped-key", inventory.ErrBadKey),
		plainInventory("invalid-utf8-raw-key", inventory.ErrBadKey),
		plainInventory("unterminated-quote", inventory.ErrSyntax),
		plainInventory("empty-key", inventory.ErrBadValue),
		{name: "plan/truncated-gzip", wantErr: inventory.ErrTruncated, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "truncated-gzip")
			replaceDataFile(t, filepath.Dir(m), half)
			return planOf(m, work)
		}},
		{name: "plan/empty-data-file", wantErr: inventory.ErrTruncated, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "empty-data-file")
			replaceDataFile(t, filepath.Dir(m), func([]byte) []byte { return nil })
			return planOf(m, work)
		}},
		{name: "plan/md5-mismatch", wantErr: inventory.ErrChecksum, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "md5-mismatch")
			editManifest(t, filepath.Dir(m), func(m map[string]any) {
				m["files"].([]any)[0].(map[string]any)["MD5checksum"] = "0123456789abcdef0123456789abcdef"
			})
			return planOf(m, work)
		}},
		{name: "plan/manifest-checksum-mismatch", wantErr: inventory.ErrChecksum, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "manifest-checksum-mismatch")
			os.WriteFile(filepath.Join(filepath.Dir(m), "manifest.checksum"), []byte("0123456789abcdef0123456789abcdef\n"), 0o644)
			return planOf(m, work)
		}},
		{name: "plan/missing-data-file", wantErr: inventory.ErrMissingFile, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "missing-data-file")
			os.Remove(filepath.Join(filepath.Dir(m), "data", "b.csv.gz"))
			return planOf(m, work)
		}},
		{name: "plan/empty-manifest", wantErr: inventory.ErrManifest, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "empty-manifest")
			writeManifest(t, filepath.Dir(m), nil)
			return planOf(m, work)
		}},
		{name: "plan/manifest-not-json", wantErr: inventory.ErrManifest, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "manifest-not-json")
			writeManifest(t, filepath.Dir(m), []byte(`{"fileFormat": "CSV", "fileSchema": "Bucket, Key", "files": [`))
			return planOf(m, work)
		}},
		{name: "plan/manifest-no-key-column", wantErr: inventory.ErrManifest, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "manifest-no-key-column")
			editManifest(t, filepath.Dir(m), func(m map[string]any) { m["fileSchema"] = "Bucket, Name, Size, LastModifiedDate, ETag, StorageClass" })
			return planOf(m, work)
		}},
		{name: "plan/manifest-unknown-format", wantErr: inventory.ErrFormat, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "manifest-unknown-format")
			editManifest(t, filepath.Dir(m), func(m map[string]any) { m["fileFormat"] = "Avro" })
			return planOf(m, work)
		}},
		{name: "diff/truncated-gzip-source", wantErr: inventory.ErrTruncated, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "truncated-gzip")
			good := filepath.Join(work, "target")
			buildReport(t, filepath.Join(malformedRoot, "inventory", "truncated-gzip"), good)
			replaceDataFile(t, filepath.Dir(m), half)
			return []string{"diff", "--source", m, "--target", filepath.Join(good, "manifest.json"), "--out", filepath.Join(work, "out"), "--quiet"}
		}},
		{name: "cat/truncated-gzip", wantErr: inventory.ErrTruncated, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			m := inv(t, work, "truncated-gzip")
			replaceDataFile(t, filepath.Dir(m), half)
			return []string{"cat", m}
		}},
	}
	for _, format := range []string{"parquet", "orc"} {
		cases = append(cases,
			malformedCase{name: "plan/truncated-" + format, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
				in := filepath.Join(work, "input")
				genReport(t, in, format)
				replaceDataFile(t, in, half)
				return planOf(filepath.Join(in, "manifest.json"), work)
			}},
			malformedCase{name: "cat/truncated-" + format + "-file", wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
				in := filepath.Join(work, "input")
				genReport(t, in, format)
				return []string{"cat", replaceDataFile(t, in, half)}
			}},
			malformedCase{name: "plan/" + format + "-wrong-type", wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
				// A report whose data file is CSV.gz but whose manifest
				// says it is Parquet or ORC.
				m := inv(t, work, "truncated-gzip")
				editManifest(t, filepath.Dir(m), func(m map[string]any) { m["fileFormat"] = strings.ToUpper(format[:1]) + format[1:] })
				return planOf(m, work)
			}},
		)
	}
	reportCase := func(name string, want error) malformedCase {
		return malformedCase{name: "report/" + name, wantErr: want, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			in := filepath.Join(work, "reports")
			copyTree(t, filepath.Join(malformedRoot, "report", name), in)
			return []string{"report", "--report", in, "--out", filepath.Join(work, "out"), "--quiet"}
		}}
	}
	cases = append(cases,
		reportCase("zero-byte-manifest", report.ErrReportManifest),
		reportCase("zero-byte-result", report.ErrChecksum),
		reportCase("result-md5-mismatch", report.ErrChecksum),
		reportCase("result-bad-escape", report.ErrBadEscape),
		reportCase("result-invalid-utf8-key", report.ErrBadValue),
		reportCase("result-wrong-columns", report.ErrFieldCount),
		reportCase("result-missing-file", report.ErrMissingFile),
	)
	planCase := func(name string, want error, cmd ...string) malformedCase {
		return malformedCase{name: cmd[0] + "/" + name, wantErr: want, wantCode: exitBadInput, setup: func(t *testing.T, work string) []string {
			p := filepath.Join(work, "plan")
			copyTree(t, filepath.Join(malformedRoot, "plan", name), p)
			args := append([]string{}, cmd...)
			for i, a := range args {
				args[i] = strings.NewReplacer("PLAN", p, "OUT", filepath.Join(work, "out")).Replace(a)
			}
			return args
		}}
	}
	cases = append(cases,
		planCase("jobs-not-json", manifest.ErrJobsFile, "report", "--plan", "PLAN", "--out", "OUT", "--quiet"),
		planCase("jobs-no-job-id", manifest.ErrJobsFile, "report", "--plan", "PLAN", "--out", "OUT", "--quiet"),
		planCase("no-plan-json", manifest.ErrNoPlan, "submit", "--plan", "PLAN", "--account-id", "123456789012",
			"--role-arn", "arn:aws:iam::123456789012:role/batch-ops", "--operation", `{"S3ReplicateObject": {}}`,
			"--report-bucket", "arn:aws:s3:::my-reports", "--manifest-bucket", "s3://my-manifests", "--dry-run"),
		planCase("jobs-not-json", manifest.ErrJobsFile, "status", "--plan", "PLAN"),
	)
	return cases
}

// TestMalformed runs every case of testdata/malformed through the CLI:
// each fails with its named error and exit code 3, and leaves nothing
// behind — no plan.json, shard, staging folder, summary, spill file or
// temporary file.
func TestMalformed(t *testing.T) {
	cases := malformedCases()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			args := tc.setup(t, work)
			before := tree(work)
			var stdout, stderr bytes.Buffer
			ctx := context.Background()
			err := newApp(&stdout, &stderr).RunContext(ctx, append([]string{"s3batchkit"}, args...))
			code := exitCode(ctx, err)
			if err == nil || code != tc.wantCode {
				t.Fatalf("%v: exit %d, want %d; err %v\n%s", args, code, tc.wantCode, err, stdout.String())
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "panic") {
				t.Errorf("err = %v", err)
			}
			if after := tree(work); strings.Join(after, "\n") != strings.Join(before, "\n") {
				// An empty output folder created before the input was
				// found bad is allowed; any file is not.
				if extra := diffTrees(before, after); len(extra) != 1 || extra[0] != "out" {
					t.Errorf("left behind in the work folder: %q", extra)
				}
			}
			if left := tree(tmp); len(left) != 0 {
				t.Errorf("left behind in TMPDIR: %q", left)
			}
		})
	}
	t.Logf("%d malformed cases", len(cases))
}

// diffTrees lists the paths of after that before lacks.
func diffTrees(before, after []string) []string {
	had := map[string]bool{}
	for _, p := range before {
		had[p] = true
	}
	var extra []string
	for _, p := range after {
		if !had[p] {
			extra = append(extra, p)
		}
	}
	return extra
}

// TestMalformedDuplicatedReportRows: a completion report that lists the
// same task twice is not refused — Batch Operations runs one task per
// manifest line, so a manifest with a repeated line (written by another
// tool) gives repeated rows. They are counted as tasks, and the failed
// object is re-run once.
func TestMalformedDuplicatedReportRows(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := s3bk(t, "report", "--report", filepath.Join(malformedRoot, "report", "duplicated-rows"), "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var s struct {
		Tasks   struct{ Total, Failed int64 }
		Objects struct {
			FailedObjects int64 `json:"failed_objects"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.Tasks.Total != 4 || s.Tasks.Failed != 2 || s.Objects.FailedObjects != 1 {
		t.Errorf("tasks %+v, objects %+v; want 4 tasks, 2 failed, 1 failed object", s.Tasks, s.Objects)
	}
	shard, err := os.ReadFile(filepath.Join(out, "rerun", "retryable", "shards", "unrouted", "00000.csv"))
	if err != nil || string(shard) != "src,photos/b%20c.jpg\n" {
		t.Errorf("re-run shard %q, %v; want the failed object once", shard, err)
	}
}
