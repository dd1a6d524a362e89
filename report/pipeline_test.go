package report

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// sampleRows returns n result rows, one in 50 failed (quoted, multi-line
// messages), keys with escapes.
func sampleRows(n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		if i%50 == 7 {
			b = fmt.Appendf(b, "src,docs/%d/gone%%20%d.txt,v%d,failed,404,NoSuchKey,\"The key \"\"%d\"\" does not exist.\n(Request ID: %X)\"\n", i%9, i, i, i, i*7919)
			continue
		}
		b = fmt.Appendf(b, "src,photos/%04d/%02d/object%%20%d%%2Bv.dat,,succeeded,200,,Successful\n", 2000+i%25, i%12, i)
	}
	return b
}

// TestHotPathAllocs checks that parsing rows in place and merging
// successes do not allocate.
func TestHotPathAllocs(t *testing.T) {
	data := sampleRows(2000)
	buf := make([]byte, len(data))
	p := newRowParser("alloc.csv", ReaderOptions{})
	offs := make([]rowOff, 0, 2001)
	parse := func() {
		copy(buf, data) // parsing decodes in place
		p.s.Reset()
		offs = offs[:0]
		at := 0
		for {
			offs = offs[:len(offs)+1]
			next, ok, err := p.next(buf, at, true, &offs[len(offs)-1])
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				offs = offs[:len(offs)-1]
				return
			}
			at = next
		}
	}
	if n := testing.AllocsPerRun(20, parse); n != 0 {
		t.Errorf("parsing: %v allocations per run, want 0", n)
	}
	if len(offs) != 2000 {
		t.Fatalf("%d rows parsed", len(offs))
	}

	job := &Job{ID: "j", Files: []ResultFile{{}}}
	m, err := NewMerger([]*Job{job}, MergeOptions{SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.track.startSuccesses(); err != nil { // no failure: every success is skipped
		t.Fatal(err)
	}
	var ok []rowOff
	for _, o := range offs {
		if !o.fail {
			ok = append(ok, o)
		}
	}
	b := &Batch{Source: &job.Files[0], buf: buf, offs: ok, depth: DefaultPrefixDepth}
	probe(b, m.track.filter)
	job.Files[0].Job = job
	if err := m.Add(b); err != nil { // learns the prefixes
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() {
		if err := m.Add(b); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("merging successes: %v allocations per run, want 0", n)
	}
}

// BenchmarkPipeline measures Run's reading of one result file: blocks
// read and hashed (MD5) in one goroutine, parsed in place in another.
func BenchmarkPipeline(b *testing.B) {
	data := sampleRows(250_000)
	sum := md5.Sum(data)
	f := &ResultFile{Job: &Job{ID: "j"}, Location: "bench.csv", MD5: hex.EncodeToString(sum[:])}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var rows int64
	for i := 0; i < b.N; i++ {
		items := make(chan item, 8)
		free := make(chan *Batch, 8)
		errc := make(chan error, 1)
		go func() {
			errc <- readStream(context.Background(), f, bytes.NewReader(data), ReaderOptions{}, items, free)
			close(items)
		}()
		for it := range items {
			if it.err != nil {
				b.Fatal(it.err)
			}
			if it.batch != nil {
				rows += int64(it.batch.Len())
				it.batch.release()
				select {
				case free <- it.batch:
				default:
				}
			}
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}
