package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/internal/objio"
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
   # an inventory delivery laid out as S3 delivers it, a later one, and a
   # replica's in another bucket: the other commands' examples use them
   s3batchkit gen --rows 5000 --bucket src-bucket --out inv/src-bucket/cfg/2024-11-01T01-00Z
   s3batchkit gen --rows 5000 --seed 2 --bucket src-bucket --out inv/src-bucket/cfg/2024-11-08T01-00Z
   s3batchkit gen --rows 5000 --bucket dst-bucket --out inv/dst-bucket/cfg/2024-11-01T01-00Z

   # two deliveries of a versioned bucket (older versions, delete markers)
   s3batchkit gen --rows 2000 --versions --bucket versioned-bucket --out inv/versioned-bucket/cfg/2024-11-01T01-00Z
   s3batchkit gen --rows 2000 --versions --seed 2 --bucket versioned-bucket --out inv/versioned-bucket/cfg/2024-11-08T01-00Z

   # an ORC report in one file
   s3batchkit gen --rows 1000 --format orc --out inv-orc

   # a million rows of Parquet in 4 files, as JSON for scripts
   s3batchkit gen --rows 1e6 --format parquet --files 4 --seed 7 --out inv-parquet --json`,
		Flags: []cli.Flag{
			&cli.GenericFlag{Name: "rows", Value: &countValue{}, Usage: "number of rows `N` (1000000, 1e6, 1,000,000)", Required: true},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "report `DIR` (local or s3://BUCKET/PREFIX)", Required: true},
			&cli.StringFlag{Name: "format", Value: "csv", Usage: "`FORMAT` of the data files: csv, parquet or orc"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed `S`"},
			&cli.BoolFlag{Name: "versions", Usage: "a versioned report: older versions, null version ids, delete markers"},
			&cli.GenericFlag{Name: "files", Value: &countValue{}, Usage: "number of data files `K`", DefaultText: "one per 500,000 rows"},
			&cli.StringFlag{Name: "bucket", Value: "example-source-bucket", Usage: "source `BUCKET` name the rows list"},
			&cli.BoolFlag{Name: "json", Usage: "print what was written as JSON on stdout: manifest, rows, files, bytes"},
			quietFlag(),
		},
		Before: func(c *cli.Context) error {
			if c.Int64("rows") < 1 {
				return usagef("--rows must be at least 1")
			}
			if f := strings.ToLower(c.String("format")); f != "csv" && f != "parquet" && f != "orc" {
				return usagef("--format must be csv, parquet or orc, got %q", c.String("format"))
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			start := time.Now()
			out := c.String("out")
			if objio.IsS3(out) {
				tmp, err := os.MkdirTemp("", "s3batchkit-gen-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				out = tmp
			}
			res, err := gen.Generate(c.Context, gen.Options{
				Rows: c.Int64("rows"), Format: c.String("format"), Out: out,
				Seed: c.Uint64("seed"), Versions: c.Bool("versions"), Files: c.Int("files"),
				Bucket: c.String("bucket"),
			})
			if err != nil {
				return err
			}
			if out != c.String("out") {
				if res.Manifest, err = publishReport(c.Context, storage(c), out, c.String("out")); err != nil {
					return err
				}
			}
			switch {
			case c.Bool("json"):
				return writeJSON(c.App.Writer, &genOutput{Manifest: res.Manifest, Format: c.String("format"), Rows: c.Int64("rows"), Files: res.Files,
					Bytes: res.Bytes, Seed: c.Uint64("seed"), Versions: c.Bool("versions"), ElapsedSeconds: time.Since(start).Seconds()})
			case !c.Bool("quiet"):
				fmt.Fprintf(c.App.Writer, "wrote %s rows in %d files (%s) to %s in %.1f s\n",
					humanCount(c.Int64("rows")), res.Files, humanBytes(res.Bytes), res.Manifest, time.Since(start).Seconds())
			}
			return nil
		},
	}
}

// genOutput is gen's --json document.
type genOutput struct {
	Manifest       string  `json:"manifest"`
	Format         string  `json:"format"`
	Rows           int64   `json:"rows"`
	Files          int     `json:"files"`
	Bytes          int64   `json:"bytes"`
	Seed           uint64  `json:"seed"`
	Versions       bool    `json:"versions"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
}

// publishReport uploads a report generated in the folder dir to the
// s3:// prefix dst as S3 delivers one: destinationBucket names dst's
// bucket and files[].key is relative to it (so that the data files are
// read where the manifest says, with no probing), manifest.checksum
// matches the rewritten manifest, and manifest.json is written last. It
// returns the manifest's location.
func publishReport(ctx context.Context, oc *objio.Client, dir, dst string) (string, error) {
	bucket, prefix, err := objio.ParseS3(strings.TrimSuffix(dst, "/"))
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", err
	}
	files, _ := m["files"].([]any)
	for _, f := range files {
		e, _ := f.(map[string]any)
		key, _ := e["key"].(string)
		src, err := os.Open(filepath.Join(dir, filepath.FromSlash(key)))
		if err != nil {
			return "", err
		}
		st, err := src.Stat()
		if err == nil {
			_, err = oc.Upload(ctx, objio.Join(dst, key), src, st.Size(), objio.UploadOptions{MD5: fmt.Sprint(e["MD5checksum"])})
		}
		src.Close()
		if err != nil {
			return "", err
		}
		if prefix != "" {
			e["key"] = prefix + "/" + key
		}
	}
	m["destinationBucket"] = "arn:aws:s3:::" + bucket
	if raw, err = json.MarshalIndent(m, "", "  "); err != nil {
		return "", err
	}
	sum := md5.Sum(raw)
	if err := oc.WriteFileAtomic(ctx, objio.Join(dst, "manifest.checksum"), []byte(hex.EncodeToString(sum[:])+"\n")); err != nil {
		return "", err
	}
	loc := objio.Join(dst, "manifest.json")
	return loc, oc.WriteFileAtomic(ctx, loc, raw)
}
