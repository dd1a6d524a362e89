package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// The command line as people type it, rewritten into the one urfave/cli
// parses. urfave/cli/v2 takes global flags only before the command name,
// stops at the first argument that is not a flag, and knows nothing of
// renamed flags; normalizeArgs makes up for all three in one pass over
// the arguments, knowing every command's flags:
//
//   - a global flag after the command name (plan --profile prod …) moves
//     in front of it, so it works wherever it is typed;
//   - an argument that is not a flag (cat's FILE) moves after the
//     command's flags, so flags may follow it;
//   - an old spelling of a renamed flag (deprecatedFlags) becomes the new
//     one, with one warning;
//   - an unknown command or subcommand is a usage error naming the
//     closest command, before anything runs.
//
// Values of flags that take one are never looked at ("--where -x" stays
// as it is), and everything after "--" is passed on untouched.

// deprecatedFlag is the old spelling of a renamed flag. It keeps working,
// hidden from the help, and says once on stderr what replaced it.
type deprecatedFlag struct {
	commands []string // the command paths that accept it ("jobs cancel")
	old, new string
}

// deprecatedFlags are the renamed flags; docs/cli.md has the table of
// names and why.
var deprecatedFlags = []deprecatedFlag{
	{commands: []string{"plan", "diff"}, old: "routes", new: "routing"},
	{commands: []string{"report"}, old: "prefix", new: "report"},
	{commands: []string{"submit", "status", "jobs confirm", "jobs cancel", "jobs priority"}, old: "concurrency", new: "workers"},
	{commands: []string{"run", "serve"}, old: "s3-endpoint", new: "endpoint-url"}, // a global flag
}

func findDeprecated(path, name string) *deprecatedFlag {
	for i, d := range deprecatedFlags {
		if d.old == name && slices.Contains(d.commands, path) {
			return &deprecatedFlags[i]
		}
	}
	return nil
}

// commandLine is a command line ready for urfave/cli.
type commandLine struct {
	args     []string // the arguments to parse (args[0] is the program)
	path     string   // the command path ("plan", "jobs cancel"); "" for none
	warnings []string // deprecated spellings used, one line each
}

// flagTable maps each name of a set of flags (aliases too) to whether
// the flag takes a value.
func flagTable(flags []cli.Flag) map[string]bool {
	t := map[string]bool{}
	for _, f := range flags {
		takes := true
		if d, ok := f.(cli.DocGenerationFlag); ok {
			takes = d.TakesValue()
		}
		for _, n := range f.Names() {
			t[n] = takes
		}
	}
	return t
}

// splitFlag returns the name of a flag argument ("--out=x" → "out") and
// whether it holds its value; ok is false when a is not a flag.
func splitFlag(a string) (name string, inline bool, ok bool) {
	if len(a) < 2 || a[0] != '-' || a == "--" {
		return "", false, false
	}
	name = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	if name == "" || name[0] == '-' || name[0] == '=' {
		return "", false, false
	}
	if i := strings.IndexByte(name, '='); i >= 0 {
		return name[:i], true, true
	}
	return name, false, true
}

// renameFlag rewrites a flag argument under another name, keeping its
// dashes and inline value.
func renameFlag(a, old, new string) string {
	dashes := "--"
	if !strings.HasPrefix(a, "--") {
		dashes = "-"
	}
	return dashes + new + strings.TrimPrefix(strings.TrimLeft(a, "-"), old)
}

// normalizeArgs rewrites args (args[0] is the program) as described at
// the top of this file. Its error is a usage error: an unknown command.
func normalizeArgs(app *cli.App, args []string) (commandLine, error) {
	var cl commandLine
	if len(args) == 0 {
		return commandLine{args: args}, nil
	}
	if args[len(args)-1] == "--generate-bash-completion" {
		// Shell completion: urfave/cli reads the line as typed.
		return commandLine{args: args}, nil
	}
	globals := flagTable(app.Flags)
	movable := map[string]bool{}
	for n := range globals {
		movable[n] = n != "version" // --version asks the program, not a command
	}
	out := []string{args[0]}
	i := 1
	// The global flags before the command.
	for i < len(args) {
		name, inline, ok := splitFlag(args[i])
		if !ok {
			break
		}
		out = append(out, args[i])
		i++
		if globals[name] && !inline && i < len(args) {
			out = append(out, args[i])
			i++
		}
	}
	if i == len(args) || args[i] == "--" {
		cl.args = append(out, args[i:]...)
		return cl, nil
	}
	at := len(out) // where global flags found later go
	cmds := app.Commands
	var cmd *cli.Command
	var path []string
	var moved, positional []string
	warned := map[string]bool{}
	// fresh: no argument of the current command's own (a flag of its, or
	// a positional one) has come since its name; global flags moved out
	// of the way do not count.
	fresh := false
	for i < len(args) {
		a := args[i]
		if a == "--" {
			break
		}
		name, inline, ok := splitFlag(a)
		if !ok {
			switch {
			case (cmd == nil || len(cmd.Subcommands) > 0) && (a == "help" || a == "h"):
				// help [TOPIC]: the topic must be a (sub)command.
				if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && findCommand(cmds, args[i+1]) == nil {
					return cl, unknownCommand(cmds, args[i+1], strings.Join(path, " "))
				}
				cl.args = append(append(append(out[:at:at], moved...), out[at:]...), args[i:]...)
				cl.path = strings.Join(path, " ")
				return cl, nil
			case cmd != nil && cmd.Action != nil && len(cmd.Subcommands) > 0 && !fresh:
				// A command that runs itself as well as holding
				// subcommands (plan): a subcommand's name comes right
				// after it; a word after its flags is an argument (a
				// flag's stray value, which the command refuses).
				positional = append(positional, a)
			case cmd == nil || len(cmd.Subcommands) > 0:
				// A command name, or a subcommand name.
				next := findCommand(cmds, a)
				if next == nil {
					return cl, unknownCommand(cmds, a, strings.Join(path, " "))
				}
				cmd = next
				cmds = cmd.Subcommands
				path = append(path, cmd.Name)
				out = append(out, a)
				fresh = true
				i++
				continue
			default:
				positional = append(positional, a)
			}
			i++
			continue
		}
		i++
		local := flagTable(cmd.Flags)
		for _, n := range cli.HelpFlag.Names() {
			local[n] = false // --help stays with the command it asks about
		}
		if _, ok := local[name]; !ok {
			if d := findDeprecated(strings.Join(path, " "), name); d != nil {
				if !warned[d.old] {
					warned[d.old] = true
					cl.warnings = append(cl.warnings, fmt.Sprintf("warning: --%s is now --%s; the old name will go away", d.old, d.new))
				}
				a, name = renameFlag(a, d.old, d.new), d.new
			}
		}
		takes, isLocal := local[name]
		if !isLocal && movable[name] {
			if gtakes, isGlobal := globals[name]; isGlobal {
				moved = append(moved, a)
				if gtakes && !inline {
					if i == len(args) || args[i] == "--" {
						return cl, &usageError{msg: fmt.Sprintf("--%s needs a value", name), cmd: strings.Join(path, " ")}
					}
					moved = append(moved, args[i])
					i++
				}
				continue
			}
		}
		out = append(out, a)
		fresh = false
		if takes && !inline && i < len(args) {
			out = append(out, args[i])
			i++
		}
	}
	out = append(out, positional...)
	out = append(out, args[i:]...)
	cl.args = append(append(append([]string{}, out[:at]...), moved...), out[at:]...)
	cl.path = strings.Join(path, " ")
	return cl, nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if slices.Contains(c.Names(), name) {
			return c
		}
	}
	return nil
}

// unknownCommand is the usage error for a command name no command has,
// with the closest one as a suggestion when it is close.
func unknownCommand(cmds []*cli.Command, name, parent string) error {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	what, hint := "command", ""
	if parent != "" {
		what = parent + " subcommand"
	}
	if s := closest(name, names); s != "" {
		hint = fmt.Sprintf(": did you mean %s?", s)
	} else {
		hint = fmt.Sprintf("; the %ss are: %s", what, strings.Join(names, ", "))
	}
	return &usageError{msg: fmt.Sprintf("unknown %s %q%s", what, name, hint), cmd: parent}
}

// closest returns the candidate nearest to s by edit distance, if it is
// near enough to be a typo (at most a third of its letters differ) or s
// is a prefix of it.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+1
	for _, c := range candidates {
		if strings.HasPrefix(c, s) && len(s) >= 2 {
			return c
		}
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
