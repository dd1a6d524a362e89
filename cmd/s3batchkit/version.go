package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// buildInfo is what `s3batchkit version` says about the binary.
type buildInfo struct {
	Version      string `json:"version"` // the module version; "(devel)" for a build from a checkout
	Commit       string `json:"commit,omitempty"`
	CommitTime   string `json:"commit_time,omitempty"`
	Modified     bool   `json:"modified"` // built from a checkout with uncommitted changes
	Go           string `json:"go"`
	Platform     string `json:"platform"`
	GzipDecoder  string `json:"gzip_decoder"` // "isa-l" or "klauspost" (pure Go)
	ModulePath   string `json:"module"`
	BuildTags    string `json:"build_tags,omitempty"`
	CgoEnabled   bool   `json:"cgo"`
	ReadBuildErr string `json:"build_info_error,omitempty"`
}

func currentBuild() buildInfo {
	b := buildInfo{Version: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, GzipDecoder: inventory.GunzipImpl}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		b.ReadBuildErr = "the binary carries no build information"
		return b
	}
	b.Version, b.ModulePath = bi.Main.Version, bi.Main.Path
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.CommitTime = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "-tags":
			b.BuildTags = s.Value
		case "CGO_ENABLED":
			b.CgoEnabled = s.Value == "1"
		}
	}
	return b
}

func (b buildInfo) writeText(w io.Writer) {
	fmt.Fprintf(w, "s3batchkit %s\n", b.Version)
	if b.Commit != "" {
		mod := ""
		if b.Modified {
			mod = " (with uncommitted changes)"
		}
		fmt.Fprintf(w, "  commit  %s%s %s\n", b.Commit, mod, b.CommitTime)
	} else {
		// go build stamps the commit from a git checkout (not from a git
		// worktree, nor with -buildvcs=false).
		fmt.Fprintf(w, "  commit  unknown (the build carries no VCS information)\n")
	}
	fmt.Fprintf(w, "  go      %s %s\n", b.Go, b.Platform)
	gz := "pure Go (github.com/klauspost/compress)"
	if b.GzipDecoder == "isa-l" {
		gz = "Intel ISA-L igzip (cgo; needs libisal2 at run time)"
	}
	fmt.Fprintf(w, "  gzip    %s\n", gz)
}

func newVersionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the version, commit, Go version and gzip decoder of this binary",
		UsageText: "s3batchkit version [--json]   (or s3batchkit --version)",
		Description: `The module version is the one 'go install …@VERSION' built ("(devel)" for a
build from a checkout, whose commit and time are shown, with a note when
it had uncommitted changes). The gzip decoder is Intel ISA-L's igzip when
the binary was built with it (make build on a machine with libisal-dev),
else the pure-Go decoder; CSV.gz inventories decode several times faster
with ISA-L.

Examples:
   s3batchkit version
   s3batchkit version --json`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the same as JSON on stdout"},
		},
		Action: func(c *cli.Context) error {
			b := currentBuild()
			if c.Bool("json") {
				return writeJSON(c.App.Writer, &b)
			}
			b.writeText(c.App.Writer)
			return nil
		},
	}
}
