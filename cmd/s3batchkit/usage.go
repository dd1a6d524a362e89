package main

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// Usage errors and the conventions every command follows, applied in one
// place (prepareCommands) rather than repeated in each command's file:
// a usage error exits 2 with one line on stderr and a hint naming the
// command's help, never the help itself; required flags are checked by us
// (urfave/cli prints the whole help on stdout when one is missing); the
// help shows no "(default: false)" and no quoted string defaults.

// usageError marks errors in the command line. cmd is the command path
// whose help the hint names ("" for the program's).
type usageError struct {
	msg string
	cmd string
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// usageHint is the line printed under a usage error.
func usageHint(cmd string) string {
	if cmd == "" {
		return "see 's3batchkit --help'"
	}
	return fmt.Sprintf("see 's3batchkit %s --help'", cmd)
}

// globalFlagsNote closes every command's help: the global flags work
// there too.
const globalFlagsNote = `GLOBAL OPTIONS:
   --profile, --region, --endpoint-url, --max-attempts, --retry-base-delay,
   --retry-max-backoff and --debug go before or after the command name
   (see s3batchkit --help)
`

// prepareCommands applies the conventions above to cmds and their
// subcommands; parent is the path of the command that holds them.
func prepareCommands(cmds []*cli.Command, parent string) {
	for _, cmd := range cmds {
		path := strings.TrimSpace(parent + " " + cmd.Name)
		flags := cmd.Flags
		cmd.OnUsageError = func(c *cli.Context, err error, _ bool) error {
			return &usageError{msg: flagParseMessage(err, flags, c.App.Flags), cmd: path}
		}
		var required []string
		for _, f := range cmd.Flags {
			if unsetRequired(f) {
				required = append(required, f.Names()[0])
			}
			tidyFlag(f)
		}
		before := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			if err := applyDefaults(c); err != nil {
				return err
			}
			var missing []string
			for _, name := range required {
				if !c.IsSet(name) {
					missing = append(missing, "--"+name)
				}
			}
			switch len(missing) {
			case 0:
			case 1:
				return usagef("%s is required", missing[0])
			default:
				return usagef("%s and %s are required", strings.Join(missing[:len(missing)-1], ", "), missing[len(missing)-1])
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
		if len(cmd.Subcommands) > 0 {
			if cmd.Action == nil {
				subs := cmd.Subcommands
				cmd.Action = func(c *cli.Context) error {
					var names []string
					for _, s := range subs {
						names = append(names, s.Name)
					}
					return usagef("%s needs a subcommand: %s", path, strings.Join(names, ", "))
				}
			}
			prepareCommands(cmd.Subcommands, path)
		} else if cmd.CustomHelpTemplate == "" {
			cmd.CustomHelpTemplate = cli.CommandHelpTemplate + globalFlagsNote
		}
	}
}

// unsetRequired clears a flag's Required mark, which prepareCommands
// checks instead, and reports whether it was set; the help says
// "(required)".
func unsetRequired(f cli.Flag) bool {
	var req *bool
	var usage *string
	switch f := f.(type) {
	case *cli.StringFlag:
		req, usage = &f.Required, &f.Usage
	case *cli.StringSliceFlag:
		req, usage = &f.Required, &f.Usage
	case *cli.IntFlag:
		req, usage = &f.Required, &f.Usage
	case *cli.Int64Flag:
		req, usage = &f.Required, &f.Usage
	case *cli.GenericFlag:
		req, usage = &f.Required, &f.Usage
	default:
		return false
	}
	if !*req {
		return false
	}
	*req = false
	if !strings.HasSuffix(*usage, "(required)") {
		*usage += " (required)"
	}
	return true
}

// tidyFlag fixes how a flag shows in the help: booleans without
// "(default: false)", string defaults without quotes.
func tidyFlag(f cli.Flag) {
	switch f := f.(type) {
	case *cli.BoolFlag:
		if !f.Value {
			f.DisableDefaultText = true
		}
	case *cli.StringFlag:
		if f.Value != "" && f.DefaultText == "" {
			f.DefaultText = f.Value
		}
	}
}

var (
	reBadValue   = regexp.MustCompile(`^invalid value "(.*)" for flag -([^:]+): (.*)$`)
	reUndefined  = regexp.MustCompile(`^flag provided but not defined: -(.+)$`)
	reNeedsValue = regexp.MustCompile(`^flag needs an argument: -(.+)$`)
)

// flagParseMessage rewrites the flag package's parse errors in the CLI's
// terms: --name, the value given, what was expected; an unknown flag
// names the closest of flags (the command's, then the global ones).
func flagParseMessage(err error, flags ...[]cli.Flag) string {
	msg := err.Error()
	if m := reBadValue.FindStringSubmatch(msg); m != nil {
		why := m[3]
		if why == "parse error" {
			why = "not a valid value"
			switch findFlag(m[2], flags...).(type) {
			case *cli.DurationFlag:
				why = "expected a duration such as 30s, 5m or 1h30m"
			case *cli.Float64Flag:
				why = "expected a number such as 0.25"
			case *cli.BoolFlag:
				why = "expected true or false"
			case *cli.IntFlag, *cli.Int64Flag, *cli.Uint64Flag:
				why = "expected a whole number"
			}
		}
		return fmt.Sprintf("--%s %q: %s", m[2], m[1], why)
	}
	if m := reUndefined.FindStringSubmatch(msg); m != nil {
		name := strings.TrimPrefix(m[1], "-")
		var names []string
		for _, fs := range flags {
			for _, f := range fs {
				if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
					continue
				}
				names = append(names, f.Names()[0])
			}
		}
		switch s := closest(name, names); {
		case s == name:
			return fmt.Sprintf("--%s is not a flag of this command: it goes before the command name", name)
		case s != "":
			return fmt.Sprintf("unknown flag --%s: did you mean --%s?", name, s)
		}
		return fmt.Sprintf("unknown flag --%s", name)
	}
	if m := reNeedsValue.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("--%s needs a value", strings.TrimPrefix(m[1], "-"))
	}
	return msg
}

// findFlag returns the flag called name among flags, or nil.
func findFlag(name string, flags ...[]cli.Flag) cli.Flag {
	for _, fs := range flags {
		for _, f := range fs {
			if slices.Contains(f.Names(), name) {
				return f
			}
		}
	}
	return nil
}

// countValue is the value of a flag that holds a whole number: 1000000,
// 1e6, 1_000_000 and 1,000,000 alike. String gives plain digits, so that
// c.Int and c.Int64 read it as they read an IntFlag; it is empty for a
// flag without a default that was not set, so that the help shows no
// "(default: 0)".
type countValue struct {
	n   int64
	set bool // set from the command line or the environment, or given a default
}

func (v *countValue) Set(s string) error {
	n, err := parseWhole(s)
	if err != nil {
		return err
	}
	v.n, v.set = n, true
	return nil
}

// Get returns the number (flag.Getter).
func (v *countValue) Get() any { return v.n }

func (v *countValue) String() string {
	if v == nil || !v.set {
		return ""
	}
	return strconv.FormatInt(v.n, 10)
}

// countFlag is a flag holding a whole number (countValue); def is its
// default, shown in the help unless it is zero.
func countFlag(category, name string, def int64, usage string) *cli.GenericFlag {
	return &cli.GenericFlag{Category: category, Name: name, Value: &countValue{n: def, set: def != 0}, Usage: usage}
}

// parseWhole parses a non-negative whole number: 1000000, 1_000_000,
// 1,000,000, 1e6 or 2.5e7.
func parseWhole(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.ReplaceAll(strings.ReplaceAll(t, "_", ""), ",", "")
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("must not be negative")
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > 1e18 || strings.ContainsAny(t, "xXpP") {
		return 0, fmt.Errorf("expected a whole number such as 1000000, 1,000,000 or 1e6")
	}
	return int64(f), nil
}

// parseCount parses a count of at least 1 (parseWhole's forms).
func parseCount(s string) (int64, error) {
	n, err := parseWhole(s)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	if n < 1 {
		return 0, fmt.Errorf("%q: must be at least 1", s)
	}
	return n, nil
}
