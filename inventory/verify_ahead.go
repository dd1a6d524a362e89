package inventory

import (
	"context"
	"sync"

	md5simd "github.com/minio/md5-simd"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// verifyLanes is how many data files the ahead verifier hashes at once.
// MD5 is a serial chain, so one stream runs at the speed of one core's
// scalar code (about 600 MB per CPU-second here); md5-simd hashes eight
// independent streams in the lanes of AVX2 registers, about 2.5 times as
// many bytes per CPU-second when all eight are busy, but less than the
// scalar code with only one or two (BenchmarkVerifyLanes).
const verifyLanes = 8

// minAheadFiles is the fewest data files for which a scan verifies ahead;
// with fewer, each file is hashed by crypto/md5 as it is opened.
const minAheadFiles = 3

// aheadVerifier checks the MD5 and size of a report's Parquet or ORC data
// files before their readers open them, verifyLanes files at a time on
// one md5-simd server, so that the hashing of several files shares the
// SIMD lanes. It works in batches of verifyLanes consecutive files: batch
// k+1 is hashed while the workers decode the files of batch k, and a
// batch starts only once every file of the batch before the previous one
// has been opened, so it runs at most two batches ahead of the readers
// (the page cache still holds a local file when it is decoded).
//
// A file is decoded only after its own check has passed, as with
// VerifyObject; the checks of the files after it may still be running.
type aheadVerifier struct {
	m      *Manifest
	oc     *objio.Client
	srv    md5simd.Server
	ctx    context.Context
	cancel context.CancelFunc

	results []verifyResult
	mu      sync.Mutex
	opened  int // files [0, opened) have been waited for by their readers
	moved   chan struct{}
	stopped chan struct{}
}

type verifyResult struct {
	done chan struct{} // closed once err is set
	err  error
}

// newAheadVerifier starts verifying m's data files, or returns nil when
// they are better verified one by one: too few files; a CSV report, whose
// reader hashes the stream it inflates; checksums not wanted; or data
// files in S3. An S3 object's reads are pinned to the ETag its handle saw
// at open, so the file is verified through the handle it is decoded from
// (a verifier's own handle could see an object overwritten in between),
// and eight read-aheads of ranged GETs at once would hold four times the
// memory of the readers' own; a download is not bound by the MD5's CPU.
func newAheadVerifier(ctx context.Context, m *Manifest, o *ReaderOptions) *aheadVerifier {
	if o.SkipChecksums || len(m.Files) < minAheadFiles || (m.Format != FormatParquet && m.Format != FormatORC) {
		return nil
	}
	for i := range m.Files {
		if objio.IsS3(m.Files[i].Location) {
			return nil
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	v := &aheadVerifier{
		m:       m,
		oc:      o.IO,
		srv:     md5simd.NewServer(),
		ctx:     ctx,
		cancel:  cancel,
		results: make([]verifyResult, len(m.Files)),
		moved:   make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
	for i := range v.results {
		v.results[i].done = make(chan struct{})
	}
	go v.run()
	return v
}

// run hashes the files batch by batch.
func (v *aheadVerifier) run() {
	defer close(v.stopped)
	n := len(v.results)
	next := 0 // the first file whose check has not started
	defer func() {
		// Files never checked (the scan ended early) fail, so that a
		// reader still waiting gets an answer.
		for i := next; i < n; i++ {
			v.results[i].err = v.ctx.Err()
			close(v.results[i].done)
		}
	}()
	for next < n {
		// Wait until the readers have opened the files of the batch
		// before the previous one.
		for {
			v.mu.Lock()
			ok := v.opened >= next-verifyLanes
			v.mu.Unlock()
			if ok {
				break
			}
			select {
			case <-v.moved:
			case <-v.ctx.Done():
				return
			}
		}
		end := min(next+verifyLanes, n)
		var wg sync.WaitGroup
		for i := next; i < end; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := &v.results[i]
				r.err = v.verify(i)
				close(r.done)
			}()
		}
		next = end
		wg.Wait()
	}
}

// verify checks data file i on one lane.
func (v *aheadVerifier) verify(i int) error {
	df := &v.m.Files[i]
	obj, err := v.oc.Open(v.ctx, df.Location)
	if err != nil {
		return err
	}
	defer obj.Close()
	h := v.srv.NewHash()
	defer h.Close()
	return verifyObject(v.ctx, obj, wantMD5(df), manifestSize(df), df.Location, h)
}

// wantMD5 is the MD5 a data file is checked against: none when another
// range of a distributed plan checks it (DataFile.NoVerify).
func wantMD5(df *DataFile) string {
	if df.NoVerify {
		return ""
	}
	return df.MD5checksum
}

// wait returns the result of data file i's check, once there is one, and
// lets the verifier move on.
func (v *aheadVerifier) wait(ctx context.Context, i int) error {
	r := &v.results[i]
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	v.mu.Lock()
	v.opened = max(v.opened, i+1)
	v.mu.Unlock()
	select {
	case v.moved <- struct{}{}:
	default:
	}
	return r.err
}

// close stops the verifier, waits for its goroutines and frees the
// md5-simd server.
func (v *aheadVerifier) close() {
	v.cancel()
	<-v.stopped
	v.srv.Close()
}

// manifestSize is the size manifest.json gives a data file, or -1 when it
// gives none.
func manifestSize(df *DataFile) int64 {
	if df.Size > 0 {
		return df.Size
	}
	return -1
}
