package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// TestUsageErrorsGolden runs command lines that are wrong and compares
// what they print with testdata/usage/<case>.txt (go test -run
// TestUsageErrorsGolden -update rewrites them). Whatever the mistake, a
// usage error exits 2, prints nothing on stdout, and on stderr the error
// once and a hint naming the help to read.
func TestUsageErrorsGolden(t *testing.T) {
	t.Chdir(t.TempDir())
	os.WriteFile("manifest.json", []byte("{}"), 0o644)
	for _, tc := range []struct {
		name string
		args string
	}{
		{"unknown-command-typo", "pln --inventory manifest.json"},
		{"unknown-command", "frobnicate"},
		{"unknown-command-version-typo", "verison"},
		{"completion-unknown-shell", "completion tcsh"},
		{"unknown-subcommand", "jobs cancle --plan p"},
		{"no-subcommand", "jobs"},
		{"help-unknown-topic", "help frobnicate"},
		{"missing-flag", "plan --out o"},
		{"missing-flags", "submit --plan p --manifest-bucket s3://b"},
		{"missing-flag-value", "plan --inventory"},
		{"missing-global-flag-value", "plan --inventory manifest.json --out o --profile"},
		{"unknown-flag", "plan --inventroy manifest.json --out o"},
		{"unknown-flag-no-match", "plan --frobnicate --out o"},
		{"program-flag-after-command", "plan --version"},
		{"bad-count", "gen --rows 1e3.5 --out o"},
		{"bad-count-word", "gen --out o --rows lots"},
		{"negative-count", "plan --inventory manifest.json --out o --workers -2"},
		{"count-out-of-range", "submit --plan s3://p/x --account-id 123456789012 --role-arn arn:aws:iam::123456789012:role/r --operation {\"S3DeleteObjectTagging\":{}} --report-bucket arn:aws:s3:::reports --workers 1e4"},
		{"bad-enum", "plan --inventory manifest.json --out o --routing some"},
		{"bad-global-after-command", "plan --inventory manifest.json --out o --max-attempts 0"},
		{"bad-global-before-command", "--endpoint-url ftp://x gen --rows 10 --out o"},
		{"bad-global-value", "--retry-max-backoff soon plan --inventory manifest.json --out o"},
		{"cat-no-argument", "cat --limit 1,000"},
		{"flag-combination", "plan --inventory manifest.json --out o --dry-run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := strings.Fields(tc.args)
			code, stdout, stderr := s3bk(t, args...)
			got := fmt.Sprintf("== command\ns3batchkit %s\n== exit\n%d\n== stdout\n%s== stderr\n%s", tc.args, code, stdout, stderr)
			if code != exitUsage || stdout != "" {
				t.Errorf("exit %d, stdout %q: want %d and nothing", code, stdout, exitUsage)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "s3batchkit: ") || !regexp.MustCompile(`^see 's3batchkit ([a-z-]+ )*--help'$`).MatchString(lines[1]) {
				t.Errorf("stderr %q: want the error and the hint, one line each", stderr)
			}
			compareGolden(t, filepath.Join(catTestdata, "usage", tc.name+".txt"), got)
		})
	}
}

// compareGolden compares got with the golden file path, or rewrites it
// under -update.
func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it; review the git diff):\n%s", path, lineDiff(string(want), got))
	}
}

// leafCommands lists the path of every command that runs (subcommands
// rather than the commands that hold them).
func leafCommands(cmds []*cli.Command, parent string) []string {
	var out []string
	for _, c := range cmds {
		path := strings.TrimSpace(parent + " " + c.Name)
		if len(c.Subcommands) > 0 {
			out = append(out, leafCommands(c.Subcommands, path)...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// globalArgs sets every global flag to a value that is not its default.
var globalArgs = []string{"--profile", "after-prof", "--region", "eu-west-3", "--endpoint-url", "http://127.0.0.1:9",
	"--max-attempts", "3", "--retry-base-delay", "7ms", "--retry-max-backoff", "3s", "--debug"}

// s3bkStorage runs the CLI as s3bk does and also returns the storage
// client the invocation built from its global flags.
func s3bkStorage(t *testing.T, args ...string) (int, string, string, *objio.Client) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := newApp(&stdout, &stderr)
	code := runApp(context.Background(), app, append([]string{"s3batchkit"}, args...), &stderr)
	oc, _ := app.Metadata[storageKey].(*objio.Client)
	return code, stdout.String(), stderr.String(), oc
}

// checkGlobalConfig checks that the storage client oc got the values of
// globalArgs.
func checkGlobalConfig(t *testing.T, oc *objio.Client) {
	t.Helper()
	if oc == nil {
		t.Fatal("the command built no storage client")
	}
	cfg := oc.Config()
	if cfg.Profile != "after-prof" || cfg.Region != "eu-west-3" || cfg.EndpointURL != "http://127.0.0.1:9" ||
		cfg.RetryMaxAttempts != 3 || cfg.RetryBaseDelay != 7*time.Millisecond || cfg.RetryMaxBackoff != 3*time.Second || cfg.Debug == nil {
		t.Errorf("the storage layer got %+v, not the global flags given after the command", cfg)
	}
}

// TestGlobalFlagsAfterCommand gives every global flag after each
// command's name: each command takes them (no "unknown flag") and the
// storage layer gets their values, as when they come first.
func TestGlobalFlagsAfterCommand(t *testing.T) {
	app := newApp(nil, nil)
	cmds := leafCommands(app.Commands, "")
	if len(cmds) < 12 {
		t.Fatalf("found only the commands %v", cmds)
	}
	for _, path := range cmds {
		t.Run(strings.ReplaceAll(path, " ", "_"), func(t *testing.T) {
			args := append(strings.Fields(path), globalArgs...)
			code, stdout, stderr, oc := s3bkStorage(t, append(args, "--help")...)
			if code != 0 || !strings.Contains(stdout, "s3batchkit "+path+" - ") {
				t.Fatalf("%v --help: exit %d, stderr %q, stdout %.200q", args, code, stderr, stdout)
			}
			checkGlobalConfig(t, oc)
			// Without --help the command runs: whatever it says (most
			// lack required flags), it is not about the global flags.
			code, _, stderr = s3bk(t, append(args, "--out", t.TempDir()+"/x", "--plan", t.TempDir())...)
			if strings.Contains(stderr, "unknown flag --profile") || strings.Contains(stderr, "--endpoint-url") && code == exitUsage {
				t.Errorf("%v: exit %d, %s", args, code, stderr)
			}
		})
	}
	// And a command that does its work with them (no S3 involved).
	dir := t.TempDir()
	code, stdout, stderr, oc := s3bkStorage(t, append([]string{"gen", "--rows", "10", "--out", dir}, globalArgs...)...)
	if code != 0 || !strings.Contains(stdout, "wrote 10 rows") {
		t.Fatalf("gen with global flags after it: exit %d, %s %s", code, stdout, stderr)
	}
	checkGlobalConfig(t, oc)
}

func TestNormalizeArgs(t *testing.T) {
	app := newApp(nil, nil)
	for _, tc := range []struct {
		in, want string
		path     string
		warnings int
	}{
		{"plan --profile prod --inventory m --out o", "--profile prod plan --inventory m --out o", "plan", 0},
		{"--region r plan --inventory m --debug --out o", "--region r --debug plan --inventory m --out o", "plan", 0},
		{"plan -profile=prod --inventory m", "-profile=prod plan --inventory m", "plan", 0},
		// A value is never taken for a flag, even when it looks like one.
		{"plan --where --profile --inventory m", "plan --where --profile --inventory m", "plan", 0},
		// The filter --prefix of plan is no deprecated spelling.
		{"plan --prefix a/ --inventory m", "plan --prefix a/ --inventory m", "plan", 0},
		{"plan --routes=none --inventory m", "plan --routing=none --inventory m", "plan", 1},
		{"diff --routes none", "diff --routing none", "diff", 1},
		{"report --prefix r1 --prefix r2 --out o", "report --report r1 --report r2 --out o", "report", 1},
		{"jobs --region r cancel --plan p --concurrency 2", "--region r jobs cancel --plan p --workers 2", "jobs cancel", 1},
		// plan runs itself and holds subcommands: one right after it, past
		// global flags; a word after plan's own flags is an argument.
		{"plan --region r split --ranges 2 --out o", "--region r plan split --ranges 2 --out o", "plan split", 0},
		{"plan --inventroy m --out o", "plan --inventroy --out o m", "plan", 0},
		{"plan merge --ranges r --profile p", "--profile p plan merge --ranges r", "plan merge", 0},
		{"run --plan p --s3-endpoint http://x --workers 3", "--endpoint-url http://x run --plan p --workers 3", "run", 1},
		{"serve --s3-endpoint=http://x", "--endpoint-url=http://x serve", "serve", 1},
		// Flags after an argument move before it.
		{"cat FILE --limit 3 --profile p", "--profile p cat --limit 3 FILE", "cat", 0},
		// Nothing after -- is touched.
		{"bench --measure -- prog --profile x", "bench --measure -- prog --profile x", "bench", 0},
		// --help stays with the command.
		{"plan --help", "plan --help", "plan", 0},
		{"help plan", "help plan", "", 0},
		{"jobs help cancel", "jobs help cancel", "jobs", 0},
		{"--debug", "--debug", "", 0},
		// --version asks the program: it does not move.
		{"plan --version", "plan --version", "plan", 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			cl, err := normalizeArgs(app, append([]string{"s3batchkit"}, strings.Fields(tc.in)...))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(cl.args[1:], " "); got != tc.want || cl.path != tc.path || len(cl.warnings) != tc.warnings {
				t.Errorf("got %q (command %q, warnings %q), want %q (command %q, %d warnings)", got, cl.path, cl.warnings, tc.want, tc.path, tc.warnings)
			}
		})
	}
}

// TestDeprecatedSpellings runs commands with the old names of renamed
// flags: they work as the new ones do, and say once what replaced them.
func TestDeprecatedSpellings(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv")
	if code, _, stderr := s3bk(t, "gen", "--rows", "2000", "--out", inv); code != 0 {
		t.Fatal(stderr)
	}
	m := filepath.Join(inv, "manifest.json")
	code, stdout, stderr := s3bk(t, "plan", "--inventory", m, "--dry-run", "--routes", "none", "--min-objects", "0")
	if code != 0 || !regexp.MustCompile(`(?m)^  all `).MatchString(stdout) {
		t.Fatalf("plan --routes none: exit %d, %s %s", code, stdout, stderr)
	}
	if stderr != "s3batchkit: warning: --routes is now --routing; the old name will go away\n" {
		t.Errorf("plan --routes none: stderr %q", stderr)
	}
	// Twice the old name: one warning.
	plan := filepath.Join(dir, "plan")
	if code, _, stderr := s3bk(t, "plan", "--inventory", m, "--out", plan, "--min-objects", "0", "--max-objects", "500", "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	buckets := filepath.Join(dir, "buckets")
	os.Mkdir(buckets, 0o755)
	reports := filepath.Join(dir, "reports")
	code, _, stderr = s3bk(t, "run", "--plan", plan, "--routes", "copy", "--local-root", buckets, "--materialize", "--report", reports,
		"--operation", `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst"}}`)
	if code != 0 {
		t.Fatalf("run: %d %s", code, stderr)
	}
	code, stdout, stderr = s3bk(t, "report", "--prefix", reports, "--prefix", reports, "--out", filepath.Join(dir, "audit"))
	if code != 0 || strings.Count(stderr, "warning: --prefix is now --report") != 1 || !strings.Contains(stdout, "succeeded") {
		t.Errorf("report --prefix: exit %d, stderr %q, stdout %.300q", code, stderr, stdout)
	}
}

// TestCountFlags: a count is written as people write numbers.
func TestCountFlags(t *testing.T) {
	for _, rows := range []string{"1500", "1e3", "1,500", "1_500", "1.5e3"} {
		dir := t.TempDir()
		code, stdout, stderr := s3bk(t, "gen", "--rows", rows, "--out", dir)
		want := map[bool]string{true: "wrote 1,000 rows", false: "wrote 1,500 rows"}[rows == "1e3"]
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("gen --rows %s: exit %d, %s %s; want %q", rows, code, stdout, stderr, want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"1000000", "1000000"}, {"1,000,000", "1000000"}, {"1_000_000", "1000000"}, {"1e6", "1000000"}, {"2.5e7", "25000000"},
		{" 7 ", "7"}, {"0", "0"},
		{"1.5", "error"}, {"-3", "error"}, {"-1e6", "error"}, {"many", "error"}, {"0x10", "error"}, {"Inf", "error"}, {"NaN", "error"}, {"1e19", "error"}, {"", "error"},
	} {
		n, err := parseWhole(tc.in)
		got := fmt.Sprint(n)
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("parseWhole(%q) = %d, %v; want %s", tc.in, n, err, tc.want)
		}
	}
}

// TestHelpText checks every command's help for what misleads: a
// placeholder that says nothing ("value"), a default shown twice, or
// "(default: false)", a default on a required flag; and that it names
// the global flags.
func TestHelpText(t *testing.T) {
	app := newApp(nil, nil)
	paths := append(leafCommands(app.Commands, ""), "jobs", "")
	flagLine := regexp.MustCompile(`^   --?[a-z]`)
	for _, path := range paths {
		args := append(strings.Fields(path), "--help")
		code, stdout, stderr := s3bk(t, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, %s", args, code, stderr)
		}
		for _, line := range strings.Split(stdout, "\n") {
			if !flagLine.MatchString(line) {
				continue
			}
			switch {
			case regexp.MustCompile(`^   --?[a-z0-9-]+ value`).MatchString(line):
				t.Errorf("%s: a flag without a placeholder: %s", path, line)
			case strings.Count(line, "(default:") > 1:
				t.Errorf("%s: two defaults: %s", path, line)
			case strings.Contains(line, "(default: false)"):
				t.Errorf("%s: (default: false): %s", path, line)
			case strings.Contains(line, "(required)") && strings.Contains(line, "(default:"):
				t.Errorf("%s: a required flag with a default: %s", path, line)
			case regexp.MustCompile(`\(default: "`).MatchString(line):
				t.Errorf("%s: a quoted default: %s", path, line)
			}
		}
		if slices.Contains(leafCommands(app.Commands, ""), path) && !strings.Contains(stdout, "go before or after the command name") {
			t.Errorf("%s: the help does not say where global flags go", path)
		}
	}
}

// TestNoHelpOnStdoutForErrors: whatever a command line lacks, the help is
// not printed for it.
func TestNoHelpOnStdoutForErrors(t *testing.T) {
	for _, path := range leafCommands(newApp(nil, nil).Commands, "") {
		if path == "bench" || path == "version" {
			continue // needs nothing: it runs
		}
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), append([]string{"s3batchkit"}, strings.Fields(path)...), &stdout, &stderr)
		if code != exitUsage || stdout.Len() > 0 {
			t.Errorf("%s without flags: exit %d, stdout %.100q, stderr %q", path, code, stdout.String(), stderr.String())
		}
	}
}
