package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// BenchmarkCopyThroughput copies S3BK_BENCH_OBJECTS (default 10,000)
// small objects on the test S3 server (versitygw) with the engine, and
// with a plain loop of CopyObject calls at the same concurrency and on the
// same kind of client, and reports objects/s. Run with -benchtime 1x:
//
//	go test ./jobs/local -run '^$' -bench CopyThroughput -benchtime 1x
func BenchmarkCopyThroughput(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("S3BK_BENCH_OBJECTS")); err == nil && v > 0 {
		n = v
	}
	oc, src := objiotest.Setup(b)
	_, dst := objiotest.Setup(b)
	ctx := context.Background()
	st, err := NewS3Storage(ctx, oc, DefaultWorkers)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, n)
	var man []byte
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(DefaultWorkers)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench/%03d/obj-%06d.bin", i%100, i)
		man = manifest.AppendRow(man, []byte(src), []byte(keys[i]), nil, false)
		g.Go(func() error {
			body := bytes.Repeat([]byte{byte(i)}, 256)
			_, err := st.Client.PutObject(gctx, &s3.PutObjectInput{Bucket: &src, Key: &keys[i], Body: bytes.NewReader(body)})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	info, err := oc.Upload(ctx, "s3://"+src+"/manifests/bench.csv", bytes.NewReader(man), int64(len(man)), objio.UploadOptions{SinglePart: true})
	if err != nil {
		b.Fatal(err)
	}

	run := 0
	engine := func(check CopySizeCheck, route string) func(b *testing.B) {
		return func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				run++
				e, err := New(Options{IO: oc, StateDir: b.TempDir(), Storage: st, CopySizeCheck: check})
				if err != nil {
					b.Fatal(err)
				}
				in := createInput("bench-"+strconv.Itoa(run), "bench.csv", info.ETag, copyOp(dst, "run"+strconv.Itoa(run)))
				in.Manifest.Location.ObjectArn = aws.String("arn:aws:s3:::" + src + "/manifests/bench.csv")
				in.Report.Bucket = aws.String("arn:aws:s3:::" + dst)
				if route != "" {
					in.Tags = []types.S3Tag{{Key: aws.String(jobs.TagRoute), Value: aws.String(route)}}
				}
				start := time.Now()
				id, err := e.CreateJob(ctx, testAccount, in)
				if err != nil {
					b.Fatal(err)
				}
				d, err := e.Wait(ctx, testAccount, id)
				el := time.Since(start)
				if err != nil || d.Status != types.JobStatusComplete || *d.ProgressSummary.NumberOfTasksSucceeded != int64(n) {
					b.Fatalf("%v %s %+v", err, d.Status, d.ProgressSummary)
				}
				b.ReportMetric(float64(n)/el.Seconds(), "objects/s")
				e.Close()
			}
		}
	}
	plain := func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			run++
			prefix := "run" + strconv.Itoa(run) + "/"
			start := time.Now()
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(DefaultWorkers)
			for _, k := range keys {
				g.Go(func() error {
					_, err := st.Client.CopyObject(gctx, &s3.CopyObjectInput{Bucket: &dst, Key: aws.String(prefix + k), CopySource: aws.String(copySource(ObjectRef{Bucket: src, Key: k}))})
					return err
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "objects/s")
		}
	}
	// The plain loop runs first and last, to bracket the engine's runs:
	// the server slows down as its buckets fill.
	b.Run("plain-CopyObject-loop", plain)
	// The default (auto) on a plan's copy-route shard, as run --plan and
	// submit tag it; the default on an untagged job (a HEAD per copy); and
	// the check turned off.
	b.Run("engine-plan-copy-route", engine(CopySizeAuto, "copy"))
	b.Run("engine-untagged-job", engine(CopySizeAuto, ""))
	b.Run("engine-check-never", engine(CopySizeNever, ""))
	b.Run("plain-CopyObject-loop-again", plain)
}
