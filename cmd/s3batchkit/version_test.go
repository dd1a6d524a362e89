package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := s3bk(t, args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "s3batchkit ") ||
			!strings.Contains(stdout, "go      "+runtime.Version()) || !strings.Contains(stdout, "gzip    ") || !strings.Contains(stdout, "commit  ") {
			t.Errorf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
}

// TestCompletion: bash completes commands and flags through the binary
// itself; the fish script is made; an unknown shell is a usage error.
func TestCompletion(t *testing.T) {
	code, stdout, _ := s3bk(t, "--generate-bash-completion")
	if code != 0 || !strings.Contains(stdout, "plan\n") || !strings.Contains(stdout, "iam-policy\n") || !strings.Contains(stdout, "completion\n") {
		t.Errorf("commands: %d %q", code, stdout)
	}
	code, stdout, _ = s3bk(t, "plan", "--inv", "--generate-bash-completion")
	if code != 0 || !strings.Contains(stdout, "--inventory\n") {
		t.Errorf("plan flags: %d %q", code, stdout)
	}
	code, stdout, _ = s3bk(t, "completion", "fish")
	if code != 0 || !strings.Contains(stdout, "complete -c s3batchkit") || !strings.Contains(stdout, "inventory") {
		t.Errorf("fish: %d %.300q", code, stdout)
	}
	if code, _, _ := s3bk(t, "completion", "tcsh"); code != exitUsage {
		t.Errorf("completion tcsh: exit %d", code)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash:", err)
	}
	bin := testBinary(t)
	_, script, _ := s3bk(t, "completion", "bash")
	file := filepath.Join(t.TempDir(), "s3batchkit.bash")
	os.WriteFile(file, []byte(script), 0o644)
	for _, tc := range []struct {
		words []string // the words typed, the last one being completed
		want  string
	}{
		{[]string{"s3batchkit", "pl"}, "plan"},
		{[]string{"s3batchkit", "jobs", "can"}, "cancel"},
		{[]string{"s3batchkit", "plan", "--inven"}, "--inventory"},
		{[]string{"s3batchkit", "--profile", "p", "submit", "--account"}, "--account-id"},
	} {
		sh := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _s3batchkit_complete; printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command("bash", append([]string{"-c", sh, "bash", file}, tc.words...)...)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains("\n"+string(out), "\n"+tc.want+"\n") {
			t.Errorf("%v: %v\n%s", tc.words, err, out)
		}
	}
}
