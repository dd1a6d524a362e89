package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/gen"
)

func newGenCommand() *cli.Command {
	return &cli.Command{
		Name:      "gen",
		Usage:     "generate a synthetic S3 Inventory report (for demos, tests and benchmarks)",
		UsageText: "s3batchkit gen --rows N --out DIR [--format csv] [--seed S] [--versions] [--files K]",
		Description: `Writes DIR/manifest.json, DIR/manifest.checksum and DIR/data/*: a report
shaped like S3 Inventory's, with deep prefixes, log-normal sizes (a few
over 5 GiB), every storage class, and about 3% tricky keys (spaces, '+',
'%', unicode, commas, quotes, newlines). The same seed gives the same rows.

Examples:
   s3batchkit gen --rows 1000000 --out /tmp/inv
   s3batchkit gen --rows 100000 --versions --files 4 --seed 7 --out /tmp/inv-versioned`,
		Flags: []cli.Flag{
			&cli.Int64Flag{Name: "rows", Usage: "number of rows `N`", Required: true},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "report `DIR`", Required: true},
			&cli.StringFlag{Name: "format", Value: "csv", Usage: "csv, parquet or orc"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed `S`"},
			&cli.BoolFlag{Name: "versions", Usage: "a versioned report: older versions, null version ids, delete markers"},
			&cli.IntFlag{Name: "files", Usage: "number of data files `K` (default: one per 500,000 rows)"},
			&cli.StringFlag{Name: "bucket", Value: "example-source-bucket", Usage: "source bucket name"},
		},
		Before: func(c *cli.Context) error {
			if c.Int64("rows") < 1 {
				return usagef("--rows must be at least 1")
			}
			if c.Int("files") < 0 {
				return usagef("--files must not be negative")
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			start := time.Now()
			res, err := gen.Generate(c.Context, gen.Options{
				Rows: c.Int64("rows"), Format: c.String("format"), Out: c.String("out"),
				Seed: c.Uint64("seed"), Versions: c.Bool("versions"), Files: c.Int("files"),
				Bucket: c.String("bucket"),
			})
			if err != nil {
				return usageOr(err)
			}
			fmt.Fprintf(c.App.Writer, "wrote %s rows in %d files (%s) to %s in %.1f s\n",
				humanCount(c.Int64("rows")), res.Files, humanBytes(res.Bytes), res.Manifest, time.Since(start).Seconds())
			return nil
		},
	}
}

// usageOr keeps an error as is; a hook for mapping library option errors
// to usage errors.
func usageOr(err error) error { return err }
