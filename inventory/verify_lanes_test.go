package inventory

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	md5simd "github.com/minio/md5-simd"
)

// memObject is a SizedReaderAt over a byte slice.
type memObject struct{ *bytes.Reader }

func (m memObject) Size() int64 { return m.Reader.Size() }

// TestVerifyObjectLanes hashes objects of awkward sizes (around MD5's
// 64-byte block, md5-simd's 32 KiB internal block and verifyObject's 1 MiB
// reads) on the lanes of one md5-simd server, all at once as the ahead
// verifier does, and checks each against crypto/md5.
func TestVerifyObjectLanes(t *testing.T) {
	sizes := []int{0, 1, 55, 56, 63, 64, 65, 127, 32<<10 - 1, 32 << 10, 32<<10 + 1, 1<<20 - 1, 1 << 20, 1<<20 + 1, 3<<20 + 777}
	rng := rand.New(rand.NewPCG(1, 2))
	srv := md5simd.NewServer()
	defer srv.Close()
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, len(sizes))
		for i, n := range sizes {
			data := make([]byte, n)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			sum := md5.Sum(data)
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := srv.NewHash()
				defer h.Close()
				errs[i] = verifyObject(context.Background(), memObject{bytes.NewReader(data)}, hex.EncodeToString(sum[:]), int64(n), fmt.Sprint(n), h)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, %d bytes: %v", round, sizes[i], err)
			}
		}
	}
}

// BenchmarkVerifyLanes compares the CPU cost of checking eight 16 MiB files
// one at a time with crypto/md5 (VerifyObject) and together on md5-simd's
// lanes (the ahead verifier's way). MB/cpu-s is what one core hashes.
func BenchmarkVerifyLanes(b *testing.B) {
	const files, size = verifyLanes, 16 << 20
	data := make([][]byte, files)
	sums := make([]string, files)
	for i := range data {
		data[i] = bytes.Repeat([]byte{byte(i), 1, 2, 3, 5, 8, 13, 21}, size/8)
		s := md5.Sum(data[i])
		sums[i] = hex.EncodeToString(s[:])
	}
	report := func(b *testing.B, cpu0 float64) {
		b.SetBytes(files * size)
		b.ReportMetric(float64(files*size)*float64(b.N)/1e6/(cpuTime().Seconds()-cpu0), "MB/cpu-s")
	}
	b.Run("crypto-md5", func(b *testing.B) {
		cpu0 := cpuTime().Seconds()
		for range b.N {
			for i := range data {
				if err := VerifyObject(memObject{bytes.NewReader(data[i])}, sums[i], size, "f"); err != nil {
					b.Fatal(err)
				}
			}
		}
		report(b, cpu0)
	})
	b.Run("md5-simd-lanes", func(b *testing.B) {
		srv := md5simd.NewServer()
		defer srv.Close()
		cpu0 := cpuTime().Seconds()
		for range b.N {
			var wg sync.WaitGroup
			for i := range data {
				wg.Add(1)
				go func() {
					defer wg.Done()
					h := srv.NewHash()
					defer h.Close()
					if err := verifyObject(context.Background(), memObject{bytes.NewReader(data[i])}, sums[i], size, "f", h); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
		}
		report(b, cpu0)
	})
}

// TestAheadVerifierOnlyLocal checks which reports are verified ahead:
// Parquet and ORC reports of local files, minAheadFiles or more; not CSV,
// not too few files, not with checksums skipped, and not data files in
// S3, which are verified through the handle they are decoded from.
func TestAheadVerifierOnlyLocal(t *testing.T) {
	files := func(n int, prefix string) []DataFile {
		var out []DataFile
		for i := range n {
			out = append(out, DataFile{Location: fmt.Sprintf("%sdata/f%d.parquet", prefix, i)})
		}
		return out
	}
	dir := t.TempDir() + "/"
	for _, tc := range []struct {
		name   string
		m      Manifest
		skip   bool
		wanted bool
	}{
		{"parquet/local", Manifest{Format: FormatParquet, Files: files(minAheadFiles, dir)}, false, true},
		{"orc/local", Manifest{Format: FormatORC, Files: files(5, dir)}, false, true},
		{"csv/local", Manifest{Format: FormatCSV, Files: files(5, dir)}, false, false},
		{"parquet/too-few", Manifest{Format: FormatParquet, Files: files(minAheadFiles-1, dir)}, false, false},
		{"parquet/no-verify", Manifest{Format: FormatParquet, Files: files(5, dir)}, true, false},
		{"parquet/s3", Manifest{Format: FormatParquet, Files: files(5, "s3://bucket/")}, false, false},
		{"parquet/one-in-s3", Manifest{Format: FormatParquet, Files: append(files(4, dir), files(1, "s3://bucket/")...)}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newAheadVerifier(context.Background(), &tc.m, &ReaderOptions{SkipChecksums: tc.skip})
			if got := v != nil; got != tc.wanted {
				t.Fatalf("verified ahead: %v, want %v", got, tc.wanted)
			}
			if v != nil {
				v.close()
			}
		})
	}
}
