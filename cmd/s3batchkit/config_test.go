package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	cfg, err := parseConfig("c", []byte("\ufeff# defaults\n[default]\naccount_id = 111111111111\n\n[profile prod]\n ; the production account\naccount_id=222222222222\nrole_arn = arn:aws:iam::222222222222:role/batch\n[staging]\nreport_bucket = arn:aws:s3:::staging-reports\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg["default"]["account_id"] != "111111111111" || cfg["prod"]["account_id"] != "222222222222" ||
		cfg["prod"]["role_arn"] != "arn:aws:iam::222222222222:role/batch" || cfg["staging"]["report_bucket"] != "arn:aws:s3:::staging-reports" {
		t.Errorf("parsed %v", cfg)
	}
	for _, tc := range []struct{ in, want string }{
		{"account_id = 1\n", "c:1: account_id outside a section"},
		{"[default]\naccount = 1\n", "c:2: unknown key \"account\""},
		{"[default]\naccount_id\n", "c:2: \"account_id\": expected key = value"},
		{"[default]\naccount_id = 1\naccount_id = 2\n", "c:3: account_id given twice"},
		{"[default\n", "c:1: section"},
		{"[profile ]\n", "c:1: section"},
	} {
		_, err := parseConfig("c", []byte(tc.in))
		var ce *configError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("[default]\naccount_id = 1\n[profile p]\nrole_arn=x\n"))
	f.Add([]byte("; c\n# c\n\n[x]\nreport_prefix = a = b\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := parseConfig("f", raw)
		if err != nil {
			var ce *configError
			if !errors.As(err, &ce) && !strings.Contains(err.Error(), "token too long") {
				t.Fatalf("an error that names no line: %v", err)
			}
			return
		}
		for p, sec := range cfg {
			if p == "" {
				t.Fatal("a section without a name")
			}
			for k := range sec {
				if _, ok := configKeys[k]; !ok {
					t.Fatalf("unknown key %q accepted", k)
				}
			}
		}
	})
}

// TestConfigPrecedence: flag > environment > the config file's section of
// the profile > default, for submit's settings (seen through its dry
// run's error about the account).
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	os.WriteFile(file, []byte("[default]\naccount_id = 111\nrole_arn = arn:aws:iam::111111111111:role/default-role\n[profile prod]\naccount_id = 222\nrole_arn = arn:aws:iam::222222222222:role/prod-role\n"), 0o644)
	t.Setenv(configFileEnv, file)
	base := []string{"submit", "--plan", "s3://plans/p", "--operation", `{"S3DeleteObjectTagging": {}}`, "--report-bucket", "arn:aws:s3:::r", "--dry-run"}
	account := func(extra []string) string {
		t.Helper()
		_, _, stderr := s3bk(t, append(append([]string{}, base...), extra...)...)
		// --account-id "111" is not 12 digits: the error shows which one won.
		i := strings.Index(stderr, "--account-id must be 12 digits, got ")
		if i < 0 {
			t.Fatalf("%v: %s", extra, stderr)
		}
		return strings.Fields(stderr[i+len("--account-id must be 12 digits, got "):])[0]
	}
	if got := account(nil); got != `"111"` {
		t.Errorf("config file [default]: %s", got)
	}
	if got := account([]string{"--profile", "prod"}); got != `"222"` {
		t.Errorf("config file [profile prod]: %s", got)
	}
	t.Setenv("S3BATCHKIT_ACCOUNT_ID", "333")
	if got := account([]string{"--profile", "prod"}); got != `"333"` {
		t.Errorf("environment over config file: %s", got)
	}
	if got := account([]string{"--account-id", "444"}); got != `"444"` {
		t.Errorf("flag over environment: %s", got)
	}
	// A broken config file is a usage error naming its line, for the
	// commands that read it only.
	os.WriteFile(file, []byte("[default]\naccount-id = 1\n"), 0o644)
	code, _, stderr := s3bk(t, base...)
	if code != exitUsage || !strings.Contains(stderr, file+":2: unknown key") {
		t.Errorf("broken config: exit %d, %s", code, stderr)
	}
	if code, _, stderr := s3bk(t, "gen", "--rows", "10", "--out", filepath.Join(dir, "g")); code != 0 {
		t.Errorf("gen reads no config file: exit %d, %s", code, stderr)
	}
}
