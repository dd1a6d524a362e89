package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// Shell completion: bash and zsh ask the binary itself for the words that
// can follow what is typed (urfave/cli's --generate-bash-completion, so
// commands and flags are always those of the binary installed); fish gets
// a script listing every command and flag, made from the same
// definitions.

const bashCompletion = `# bash completion for s3batchkit: source it from ~/.bashrc, e.g.
#   source <(s3batchkit completion bash)
_s3batchkit_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  if [[ "$cur" == -* ]]; then
    words+=("$cur")
  fi
  local IFS=$'\n'
  COMPREPLY=($(compgen -W "$("${words[0]}" "${words[@]:1}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
}
complete -o bashdefault -o default -F _s3batchkit_complete s3batchkit
`

const zshCompletion = `#compdef s3batchkit
# zsh completion for s3batchkit: save it as _s3batchkit in a folder of
# $fpath, e.g.
#   s3batchkit completion zsh > "${fpath[1]}/_s3batchkit"
_s3batchkit() {
  local -a candidates
  local cur=${words[CURRENT]}
  local -a typed=("${(@)words[1,CURRENT-1]}")
  if [[ "$cur" == -* ]]; then
    typed+=("$cur")
  fi
  candidates=("${(@f)$("${typed[@]}" --generate-bash-completion 2>/dev/null)}")
  if [[ -n "${candidates[1]}" ]]; then
    _describe 'values' candidates
  else
    _files
  fi
}
compdef _s3batchkit s3batchkit
`

func newCompletionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		UsageText: "s3batchkit completion bash|zsh|fish",
		Description: `Prints a script that completes s3batchkit's commands and flags. bash and
zsh ask the s3batchkit on the PATH for the candidates as you type, so they
follow upgrades; the fish script lists the commands and flags of this
binary (print it again after an upgrade).

Examples:
   # bash: add to ~/.bashrc
   source <(s3batchkit completion bash)

   # zsh: a file _s3batchkit in a folder of $fpath, then restart zsh
   s3batchkit completion zsh > "${fpath[1]}/_s3batchkit"

   # fish
   s3batchkit completion fish > ~/.config/fish/completions/s3batchkit.fish`,
		Before: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion takes one shell: bash, zsh or fish")
			}
			switch c.Args().First() {
			case "bash", "zsh", "fish":
				return nil
			}
			return usagef("completion: unknown shell %q: expected bash, zsh or fish", c.Args().First())
		},
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "bash":
				_, err := fmt.Fprint(c.App.Writer, bashCompletion)
				return err
			case "zsh":
				_, err := fmt.Fprint(c.App.Writer, zshCompletion)
				return err
			}
			script, err := c.App.ToFishCompletion()
			if err != nil {
				return err
			}
			// urfave/cli names the helper functions after the program as
			// run; the script is for the program as installed.
			_, err = fmt.Fprint(c.App.Writer, strings.TrimSpace(script)+"\n")
			return err
		},
	}
}

// setCompletion makes the completion of app and its commands read the
// command line Main was given (urfave/cli's default reads os.Args, which
// is not the command line of Main in tests or of an embedding program).
// The word being completed is the one before --generate-bash-completion:
// a word starting with '-' is completed with the flags of the command
// (or the global ones), anything else with the (sub)commands.
func setCompletion(app *cli.App, args []string) {
	word := ""
	if len(args) > 2 {
		word = args[len(args)-2]
	}
	complete := func(cmd *cli.Command) cli.BashCompleteFunc {
		return func(c *cli.Context) {
			w := c.App.Writer
			if strings.HasPrefix(word, "-") {
				flags := c.App.Flags
				if cmd != nil {
					flags = cmd.Flags
				}
				for _, f := range flags {
					if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
						continue
					}
					for _, n := range f.Names() {
						name := "--" + n
						if len(n) == 1 {
							name = "-" + n
						}
						if strings.HasPrefix(name, word) {
							fmt.Fprintln(w, name)
						}
					}
				}
				return
			}
			subs := app.Commands
			if cmd != nil {
				subs = cmd.Subcommands
			}
			for _, s := range subs {
				if !s.Hidden {
					fmt.Fprintln(w, s.Name)
				}
			}
		}
	}
	app.BashComplete = complete(nil)
	var walk func([]*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.BashComplete = complete(c)
			walk(c.Subcommands)
		}
	}
	walk(app.Commands)
}
