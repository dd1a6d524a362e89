// Package tmeval is the evaluation of feature/s3/transfermanager against
// objio's own reads and uploads, recorded in docs/objio.md. It is a module
// of its own, so that transfermanager is no dependency of s3batchkit. To
// run it against the test S3 server:
//
//	source /work/vgw-env.sh
//	cd internal/objio/tmeval
//	go test -run 'TestTM' -v -bench 'Transfer' -benchtime 3x -timeout 60m .
package tmeval_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
)

// peakHeap samples the live heap every millisecond.
type peakHeap struct {
	stop, done chan struct{}
	base, max  uint64
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startPeak() *peakHeap {
	runtime.GC()
	p := &peakHeap{stop: make(chan struct{}), done: make(chan struct{}), base: heapBytes()}
	go func() {
		defer close(p.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.max = max(p.max, heapBytes())
			}
		}
	}()
	return p
}

func (p *peakHeap) end() float64 {
	close(p.stop)
	<-p.done
	if p.max < p.base {
		return 0
	}
	return float64(p.max-p.base) / (1 << 20)
}

func measure(b *testing.B, size int64, f func() error) {
	b.SetBytes(size)
	b.ReportAllocs()
	p := startPeak()
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(p.end(), "peak-heap-MiB")
}

func tmClient(b testing.TB, oc *objio.Client, fns ...func(*transfermanager.Options)) *transfermanager.Client {
	cl, err := oc.S3(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return transfermanager.New(cl, append([]func(*transfermanager.Options){func(o *transfermanager.Options) {
		o.Concurrency, o.PartSizeBytes = objio.DefaultConcurrency, objio.DefaultPartSize
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	}}, fns...)...)
}

// BenchmarkTransferDownload reads a 96 MiB data file whole, in order, as
// the inventory readers do: objio's read-ahead (4 ranged GETs of 8 MiB in
// flight) against transfermanager's GetObject (a concurrent reader, same
// concurrency and range size, with and without its checksum mode) and
// DownloadObject (into a file). transfermanager runs in "ranges" mode: in
// its default "parts" mode a single-part object (as most data files are)
// is read with one GET.
func BenchmarkTransferDownload(b *testing.B) {
	oc, bucket := objiotest.Setup(b)
	ctx := context.Background()
	const size = 96 << 20
	loc := "s3://" + bucket + "/big.bin"
	data := randomBytes(size, 1)
	if _, err := oc.Upload(ctx, loc, bytes.NewReader(data), size, objio.UploadOptions{}); err != nil {
		b.Fatal(err)
	}
	data = nil
	tmRanges := tmClient(b, oc, func(o *transfermanager.Options) { o.GetObjectType = tmtypes.GetObjectRanges })
	tmRangesNoCheck := tmClient(b, oc, func(o *transfermanager.Options) {
		o.GetObjectType, o.DisableChecksumValidation = tmtypes.GetObjectRanges, true
	})
	in := &transfermanager.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.bin")}
	dir := b.TempDir()
	// Rounds alternate the variants (A B C D A B C D …): the machine is
	// shared and noisy, so ratios are taken within one run.
	for range rounds {
		b.Run("objio-Open-Read", func(b *testing.B) {
			measure(b, size, func() error {
				o, err := oc.Open(ctx, loc)
				if err != nil {
					return err
				}
				defer o.Close()
				_, err = io.Copy(io.Discard, o)
				return err
			})
		})
		b.Run("tm-GetObject-ranges", func(b *testing.B) {
			measure(b, size, func() error {
				out, err := tmRanges.GetObject(ctx, in)
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, out.Body)
				return err
			})
		})
		b.Run("tm-GetObject-ranges-no-checksum-mode", func(b *testing.B) {
			measure(b, size, func() error {
				out, err := tmRangesNoCheck.GetObject(ctx, in)
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, out.Body)
				return err
			})
		})
		b.Run("tm-DownloadObject-file", func(b *testing.B) {
			measure(b, size, func() error {
				f, err := os.Create(filepath.Join(dir, "big.bin"))
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = tmRanges.DownloadObject(ctx, &transfermanager.DownloadObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.bin"), WriterAt: f})
				return err
			})
		})
	}
}

// rounds is how many times each benchmark runs its variants in turn.
const rounds = 3

// BenchmarkTransferUpload writes a 32 MiB shard in one PUT, as submit and
// plan --out s3:// do: objio with the MD5 plan.json knows (Content-MD5),
// objio computing it, and transfermanager's UploadObject (no checksum, and
// its default CRC32).
func BenchmarkTransferUpload(b *testing.B) {
	oc, bucket := objiotest.Setup(b)
	ctx := context.Background()
	const size = 32 << 20
	data := randomBytes(size, 2)
	sum := md5.Sum(data)
	md5hex := hex.EncodeToString(sum[:])
	tm := tmClient(b, oc, func(o *transfermanager.Options) { o.MultipartUploadThreshold = 1 << 30 })
	tmCRC := tmClient(b, oc, func(o *transfermanager.Options) {
		o.MultipartUploadThreshold = 1 << 30
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	})
	check := func(etag string) error {
		if etag != md5hex {
			b.Fatalf("ETag %s, want the MD5 %s", etag, md5hex)
		}
		return nil
	}
	for range rounds {
		b.Run("objio-PUT-known-MD5", func(b *testing.B) {
			measure(b, size, func() error {
				info, err := oc.Upload(ctx, "s3://"+bucket+"/a", bytes.NewReader(data), size, objio.UploadOptions{MD5: md5hex, SinglePart: true})
				if err != nil {
					return err
				}
				return check(info.ETag)
			})
		})
		b.Run("objio-PUT-MD5-computed", func(b *testing.B) {
			measure(b, size, func() error {
				info, err := oc.Upload(ctx, "s3://"+bucket+"/b", bytes.NewReader(data), size, objio.UploadOptions{SinglePart: true})
				if err != nil {
					return err
				}
				return check(info.ETag)
			})
		})
		for _, v := range []struct {
			name string
			c    *transfermanager.Client
		}{{"tm-UploadObject-no-checksum", tm}, {"tm-UploadObject-CRC32", tmCRC}} {
			c := v.c
			b.Run(v.name, func(b *testing.B) {
				measure(b, size, func() error {
					out, err := c.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String(bucket), Key: aws.String("c"), Body: bytes.NewReader(data)})
					if err != nil {
						return err
					}
					return check(string(bytes.Trim([]byte(aws.ToString(out.ETag)), `"`)))
				})
			})
		}
	}
}

// TestTMShortReads reads a 40 MiB object five times through a proxy that
// cuts a third of the GET answers short, in 8 MiB ranges: objio re-reads
// the rest of the range after a backoff; transfermanager's DownloadObject
// re-reads whole ranges, three times at most, without waiting, and its
// GetObject does not re-read.
func TestTMShortReads(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	const size = 40 << 20
	data := randomBytes(size, 3)
	if _, err := oc.Upload(ctx, "s3://"+bucket+"/k", bytes.NewReader(data), size, objio.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := objiotest.Config(t)
	var gets atomic.Int64
	p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{Rate: 0.33, Seed: 4, Kinds: []s3fault.Kind{s3fault.Truncate},
		Match: func(r *http.Request) bool { gets.Add(1); return r.Method == http.MethodGet }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg.EndpointURL, cfg.RetryMaxBackoff = p.URL, 20*time.Millisecond
	oc = objio.New(cfg) // through the proxy from here on
	// Ranges: the object is one part (as most inventory data files), so
	// the default part mode would read it with one GET.
	tm := tmClient(t, oc, func(o *transfermanager.Options) { o.GetObjectType = tmtypes.GetObjectRanges })
	for _, c := range []struct {
		name string
		read func() ([]byte, error)
	}{
		{"objio", func() ([]byte, error) { return oc.ReadAll(ctx, "s3://"+bucket+"/k") }},
		{"tm-GetObject", func() ([]byte, error) {
			out, err := tm.GetObject(ctx, &transfermanager.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
			if err != nil {
				return nil, err
			}
			return io.ReadAll(out.Body)
		}},
		{"tm-DownloadObject", func() ([]byte, error) {
			w := &memWriterAt{b: make([]byte, size)}
			_, err := tm.DownloadObject(ctx, &transfermanager.DownloadObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), WriterAt: w})
			return w.b, err
		}},
	} {
		ok, wrong, failed := 0, 0, 0
		before := p.Counts()
		for range 5 {
			got, err := c.read()
			switch {
			case err != nil:
				failed++
				t.Logf("%s: %v", c.name, err)
			case !bytes.Equal(got, data):
				wrong++
			default:
				ok++
			}
		}
		d := p.Counts().Sub(before)
		t.Logf("%-18s %d whole, %d wrong bytes, %d failed; %d requests, %d cut", c.name, ok, wrong, failed, d.Requests, d.Faults[s3fault.Truncate])
		if wrong > 0 {
			t.Errorf("%s returned wrong bytes", c.name)
		}
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

type memWriterAt struct{ b []byte }

func (m *memWriterAt) WriteAt(p []byte, off int64) (int, error) { return copy(m.b[off:], p), nil }

// TestTMETagPinning overwrites an object while it is read in ranges:
// objio's reads are pinned to the ETag of its HEAD; transfermanager's to
// the ETag of the first range it got.
func TestTMETagPinning(t *testing.T) {
	oc, bucket := objiotest.Setup(t, func(c *objio.Config) { c.Concurrency = 1 })
	ctx := context.Background()
	const size = 40 << 20
	loc := "s3://" + bucket + "/k"
	put := func(seed uint64) {
		if _, err := oc.Upload(ctx, loc, bytes.NewReader(randomBytes(size, seed)), size, objio.UploadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(5)
	o, err := oc.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	io.ReadFull(o, buf)
	put(6)
	_, err = io.Copy(io.Discard, o)
	o.Close()
	t.Logf("objio after an overwrite: %v", err)
	if err == nil {
		t.Error("objio read across an overwrite")
	}
	put(7)
	tm := tmClient(t, oc, func(o *transfermanager.Options) {
		o.Concurrency, o.GetObjectBufferSize, o.GetObjectType = 1, 8<<20, tmtypes.GetObjectRanges
	})
	out, err := tm.GetObject(ctx, &transfermanager.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(out.Body, buf)
	put(8)
	_, err = io.Copy(io.Discard, out.Body)
	t.Logf("tm GetObject after an overwrite: %v", err)
	if err == nil {
		t.Error("transfermanager read across an overwrite")
	}
}
