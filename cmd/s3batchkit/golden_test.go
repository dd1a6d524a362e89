package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/s3batchkit/s3batchkit/gen"
)

var update = flag.Bool("update", false, "rewrite the golden want.txt files")

// buildReport turns DIR/input (schema.txt and data/*.csv in plain text)
// into a real local inventory report: gzip data files and a manifest.json
// with their sizes and MD5s, plus manifest.checksum.
func buildReport(t *testing.T, src, dst string) {
	t.Helper()
	schema, err := os.ReadFile(filepath.Join(src, "schema.txt"))
	if err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(src, "data", "*.csv"))
	sort.Strings(names)
	spec := gen.ReportSpec{Format: "CSV", Schema: strings.TrimSpace(string(schema)), Bucket: "src-bucket",
		Destination: "arn:aws:s3:::inventory-bucket", Created: "1714000000000"}
	for _, n := range names {
		raw, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(raw)
		zw.Close()
		spec.Files = append(spec.Files, gen.ReportFile{Key: "data/" + filepath.Base(n) + ".gz", Data: z.Bytes()})
	}
	if _, err := gen.WriteReport(dst, spec); err != nil {
		t.Fatal(err)
	}
}

// runCase runs one golden case in a fresh folder and renders everything
// it produced — exit code, stdout, stderr and every file under out/ — as
// one text.
func runCase(t *testing.T, caseDir string, extraArgs ...string) string {
	t.Helper()
	cmd, err := os.ReadFile(filepath.Join(caseDir, "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	buildReport(t, filepath.Join(caseDir, "input"), filepath.Join(work, "input"))
	t.Chdir(work)
	args := append([]string{"s3batchkit"}, strings.Fields(string(cmd))...)
	args = append(args, extraArgs...)
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, &stdout, &stderr)
	var b strings.Builder
	fmt.Fprintf(&b, "== exit\n%d\n== stdout\n%s== stderr\n%s", code, stdout.String(), stderr.String())
	var paths []string
	filepath.WalkDir("out", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		raw, _ := os.ReadFile(p)
		fmt.Fprintf(&b, "== %s\n%s", filepath.ToSlash(p), raw)
	}
	return b.String()
}

func TestPlanGolden(t *testing.T) {
	cases, _ := filepath.Glob("testdata/plan/*")
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range cases {
		abs, _ := filepath.Abs(c)
		t.Run(filepath.Base(c), func(t *testing.T) {
			got := runCase(t, abs)
			wantFile := filepath.Join(abs, "want.txt")
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (go test -update rewrites it; review the git diff):\n%s", wantFile, lineDiff(string(want), got))
			}
			// The same inputs with other worker counts give the same bytes.
			for _, w := range []string{"1", "3"} {
				if again := runCase(t, abs, "--workers", w); again != got {
					t.Errorf("--workers %s changes the output:\n%s", w, lineDiff(got, again))
				}
			}
		})
	}
}

// lineDiff shows the first differing lines of two texts.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, w, g)
			if shown++; shown == 10 {
				break
			}
		}
	}
	return b.String()
}
