package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/iampolicy"
)

// helpExample is one command line of an Examples section.
type helpExample struct {
	command string // the command whose help shows it ("jobs cancel")
	line    string // as shown, continuation lines joined
}

// helpExamples extracts the command lines of every command's Examples
// section: lines starting with "s3batchkit", with their "\" continuation
// lines.
func helpExamples(cmds []*cli.Command, parent string) []helpExample {
	var out []helpExample
	for _, c := range cmds {
		path := strings.TrimSpace(parent + " " + c.Name)
		out = append(out, helpExamples(c.Subcommands, path)...)
		_, ex, ok := strings.Cut(c.Description, "Examples")
		if !ok {
			continue
		}
		lines := strings.Split(ex, "\n")
		for i := 0; i < len(lines); i++ {
			l := strings.TrimSpace(lines[i])
			if !strings.HasPrefix(l, "s3batchkit ") {
				continue
			}
			full := l
			for strings.HasSuffix(full, "\\") && i+1 < len(lines) {
				i++
				full = strings.TrimSuffix(full, "\\") + " " + strings.TrimSpace(lines[i])
			}
			out = append(out, helpExample{command: path, line: full})
		}
	}
	return out
}

// offlineReason says why an example cannot run here ("" when it can): it
// needs S3, an S3 Control endpoint, a server, or minutes of benchmarks.
func offlineReason(e helpExample) string {
	switch {
	case strings.Contains(e.line, "s3://") && !(e.command == "submit" || e.command == "iam-policy") || strings.Contains(e.line, "--plan s3://"):
		return "needs S3"
	case strings.Contains(e.line, "http://") || strings.Contains(e.line, "https://"):
		return "needs an endpoint"
	case e.command == "submit" && !strings.Contains(e.line, "--dry-run"):
		return "creates jobs at S3 Control"
	case strings.HasPrefix(e.command, "jobs"):
		return "acts on jobs at S3 Control"
	case e.command == "serve":
		return "a server, until Ctrl-C"
	case e.command == "bench":
		return "measures for minutes"
	}
	return ""
}

// TestHelpExamples runs every example of every command's --help that can
// run offline, in a folder holding what the examples of gen, plan and run
// make (inventories under inv/, plan/, buckets/, reports/), and expects
// each to succeed (report --fail-on-failures: exit 4 allowed, since the
// plan's other routes did not run). Examples run in order, each in the
// stage it needs: plan, diff and cat where no plan was made yet; submit,
// iam-policy and run (in that order) beside a plan not yet run; report
// and status after the run.
func TestHelpExamples(t *testing.T) {
	app := newApp(nil, nil)
	examples := helpExamples(app.Commands, "")
	byCommand := map[string][]helpExample{}
	for _, e := range examples {
		byCommand[e.command] = append(byCommand[e.command], e)
	}
	for _, c := range leafCommands(app.Commands, "") {
		if len(byCommand[c]) == 0 {
			t.Errorf("%s: the help has no examples", c)
		}
	}
	base := t.TempDir()
	run := func(t *testing.T, dir string, e helpExample) (string, bool) {
		t.Helper()
		t.Chdir(dir)
		line := e.line
		for _, cut := range []string{" | ", " > "} {
			line, _, _ = strings.Cut(line, cut)
		}
		var args []string
		for _, w := range shellWords(t, strings.TrimPrefix(line, "s3batchkit ")) {
			if strings.ContainsAny(w, "*?") && strings.Contains(w, "/") && !strings.Contains(w, " ") {
				if m, _ := filepath.Glob(w); len(m) > 0 {
					args = append(args, m...)
					continue
				}
			}
			args = append(args, w)
		}
		code, stdout, stderr := s3bk(t, args...)
		ok := code == 0 || code == exitTasksFailed && strings.Contains(line, "--fail-on-failures")
		if !ok {
			t.Errorf("%s\nexit %d\n%s%s", e.line, code, stdout, stderr)
		}
		return stdout, ok
	}
	// The stages: gen's examples, then a plan, then run's first example.
	for _, e := range byCommand["gen"] {
		run(t, base, e)
	}
	os.RemoveAll(filepath.Join(base, "inv-parquet")) // a million rows no other example reads
	_, keys, _ := s3bk(t, "cat", "--columns", "key", "--limit", "20", filepath.Join(base, "inv/src-bucket/cfg/2024-11-08T01-00Z/manifest.json"))
	var keyList []string
	for _, l := range strings.Split(strings.TrimSpace(keys), "\n") {
		var r struct{ Key string }
		json.Unmarshal([]byte(l), &r)
		keyList = append(keyList, r.Key)
	}
	os.WriteFile(filepath.Join(base, "keys.txt"), []byte(strings.Join(keyList, "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(base, "classes.csv"), []byte("NoSuchKey,retryable\n403,permanent\n"), 0o644)
	os.WriteFile(filepath.Join(base, "tag.json"), []byte(`{"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}`), 0o644)
	os.Mkdir(filepath.Join(base, "buckets"), 0o755)
	stage := func(name string) string {
		dir := filepath.Join(t.TempDir(), name)
		copyTree(t, base, dir)
		return dir
	}
	noPlan := stage("no-plan")
	if _, ok := run(t, base, helpExample{"plan", "s3batchkit plan --inventory inv/src-bucket/cfg/ --out plan/ --quiet"}); !ok {
		t.FailNow()
	}
	notRun := stage("not-run")
	runEx := byCommand["run"][0]
	if !strings.Contains(runEx.line, "--materialize") {
		t.Fatalf("run's first example %q does not make the sources", runEx.line)
	}
	if _, ok := run(t, base, runEx); !ok {
		t.FailNow()
	}
	ran, skipped := 0, 0
	for _, e := range examples {
		if why := offlineReason(e); why != "" {
			t.Logf("not run (%s): %s", why, e.line)
			skipped++
			continue
		}
		from := base
		switch e.command {
		case "gen":
			continue // ran above
		case "plan", "diff", "cat":
			from = noPlan
		case "submit", "iam-policy", "run":
			from = notRun
		}
		stdout, ok := run(t, from, e)
		ran++
		if ok && e.command == "iam-policy" {
			checkIAMExample(t, e, stdout)
		}
	}
	t.Logf("ran %d examples, %d need what a test here lacks", ran, skipped)
	if ran < 25 {
		t.Errorf("ran only %d examples", ran)
	}
}

// checkIAMExample: the JSON example prints policies that pass
// iampolicy.Check; the text one prints the AWS CLI commands.
func checkIAMExample(t *testing.T, e helpExample, stdout string) {
	t.Helper()
	if !strings.Contains(e.line, "--json") {
		if !regexp.MustCompile(`aws iam put-role-policy --role-name s3batchkit-batch-operations`).MatchString(stdout) {
			t.Errorf("%s: the text output has no put-role-policy command:\n%s", e.line, stdout)
		}
		return
	}
	var r iampolicy.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if err := iampolicy.Check(r.PermissionsPolicy, iampolicy.Permissions); err != nil {
		t.Error(err)
	}
	if err := iampolicy.Check(r.TrustPolicy, iampolicy.Trust); err != nil {
		t.Error(err)
	}
}
