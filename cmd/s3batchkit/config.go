package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Defaults for the settings people give every time — the account, the
// role, where reports and manifests go — from the environment or a
// config file shaped like ~/.aws/config. Precedence, highest first: the
// flag, the environment variable, the config file's section of the
// profile, the built-in default. docs/cli.md documents them.

// configKeys are the settings the config file and the environment may
// give: the key of the file (the flag's name with '_' for '-') and the
// commands whose flag it fills. The control endpoint is not among them
// for status, jobs and report: those use the one jobs.json records.
var configKeys = map[string][]string{
	"account_id":           {"submit", "iam-policy"},
	"role_arn":             {"submit"},
	"report_bucket":        {"submit", "iam-policy"},
	"report_prefix":        {"submit", "iam-policy"},
	"manifest_bucket":      {"submit", "iam-policy"},
	"control_endpoint_url": {"submit"},
}

// configEnv is the environment variable of a config key.
func configEnv(key string) string { return "S3BATCHKIT_" + strings.ToUpper(key) }

// configFileEnv names the config file; configFile gives the default.
const configFileEnv = "S3BATCHKIT_CONFIG_FILE"

// configFile returns the config file's location: $S3BATCHKIT_CONFIG_FILE,
// else $XDG_CONFIG_HOME/s3batchkit/config, else ~/.config/s3batchkit/config.
func configFile() string {
	if f := os.Getenv(configFileEnv); f != "" {
		return f
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "s3batchkit", "config")
}

// configError names the line of the config file that is wrong.
type configError struct {
	file string
	line int
	msg  string
}

func (e *configError) Error() string { return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg) }

// parseConfig reads a config file: sections "[default]" and "[profile
// NAME]" (or "[NAME]"), lines "key = value", comments starting with '#'
// or ';', blank lines. It returns the settings of each section by its
// profile name. Keys must be known (configKeys); a key given twice in a
// section, a line outside a section or without '=' is an error.
func parseConfig(name string, raw []byte) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	var section map[string]string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, &configError{name, n, fmt.Sprintf("section %q: expected [default] or [profile NAME]", line)}
			}
			p := strings.TrimLeft(line[1:len(line)-1], " \t")
			if rest, ok := strings.CutPrefix(p, "profile "); ok {
				p = rest
			}
			p = strings.TrimSpace(p)
			if p == "" || strings.ContainsAny(p, " \t[]") {
				return nil, &configError{name, n, fmt.Sprintf("section %q: expected [default] or [profile NAME]", line)}
			}
			if out[p] == nil {
				out[p] = map[string]string{}
			}
			section = out[p]
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, &configError{name, n, fmt.Sprintf("%q: expected key = value", line)}
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if section == nil {
			return nil, &configError{name, n, fmt.Sprintf("%s outside a section: put it under [default] or [profile NAME]", k)}
		}
		if _, known := configKeys[k]; !known {
			return nil, &configError{name, n, fmt.Sprintf("unknown key %q: expected one of %s", k, strings.Join(configKeyNames(), ", "))}
		}
		if _, dup := section[k]; dup {
			return nil, &configError{name, n, fmt.Sprintf("%s given twice in one section", k)}
		}
		section[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

func configKeyNames() []string {
	names := make([]string, 0, len(configKeys))
	for k := range configKeys {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// applyDefaults fills, for the command of c, the flags that were given
// neither on the command line nor in the environment from the config
// file's section of the profile (--profile, AWS_PROFILE, else default).
// A missing config file is no error; one that does not parse is a usage
// error naming its line.
func applyDefaults(c *cli.Context) error {
	if c.Command == nil {
		return nil
	}
	var wanted []string
	for key, cmds := range configKeys {
		if slices.Contains(cmds, c.Command.FullName()) && !c.IsSet(strings.ReplaceAll(key, "_", "-")) {
			wanted = append(wanted, key)
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	file := configFile()
	if file == "" {
		return nil
	}
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usagef("config file %s: %v", file, err)
	}
	cfg, err := parseConfig(file, raw)
	if err != nil {
		return usagef("config file %v", err)
	}
	profile := c.String("profile")
	if profile == "" {
		profile = "default"
	}
	slices.Sort(wanted)
	for _, key := range wanted {
		v, ok := cfg[profile][key]
		if !ok {
			continue
		}
		if err := c.Set(strings.ReplaceAll(key, "_", "-"), v); err != nil {
			return usagef("config file %s, [%s] %s: %v", file, profile, key, err)
		}
	}
	return nil
}
