package extsort

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

// benchKeys makes n keys shaped like the planner's sort keys: a bucket
// name, a key under a few levels of shared folders, then 30 bytes of
// other columns.
func benchKeys(seed uint64, n int, order string) [][]byte {
	rnd := rand.New(rand.NewPCG(seed, 1))
	tops := []string{"data/", "raw/", "warehouse/", "logs/", "backups/", "home/", "tmp/", "exports/", "images/", "videos/"}
	segs := []string{"2019", "2020", "2023", "2024", "daily", "hourly", "staging", "prod", "users", "tenants", "us-east-1", "archive"}
	keys := make([][]byte, n)
	for i := range keys {
		k := append([]byte("example-source-bucket"), 0, 0)
		k = append(k, tops[rnd.IntN(len(tops))]...)
		for d := 1 + rnd.IntN(4); d > 0; d-- {
			if rnd.IntN(3) == 0 {
				k = fmt.Appendf(k, "%02d/", rnd.IntN(30))
			} else {
				k = append(k, segs[rnd.IntN(len(segs))]...)
				k = append(k, '/')
			}
		}
		k = fmt.Appendf(k, "obj-%d-%d.parquet", rnd.IntN(4), i)
		k = append(k, 0, 0, 0)
		k = binary.BigEndian.AppendUint64(k, rnd.Uint64())
		k = append(k, 1)
		k = binary.BigEndian.AppendUint64(k, rnd.Uint64()>>34)
		k = append(k, 1)
		k = append(k, "STANDARD"...)
		k = append(k, 0, 0, 0)
		keys[i] = k
	}
	switch order {
	case "sorted":
		slices.SortFunc(keys, func(a, b []byte) int { return string2cmp(a, b) })
	}
	// Back to back in memory, in the order they are added, as a caller
	// encoding each record into one buffer has them at hand.
	var arena []byte
	for _, k := range keys {
		arena = append(arena, k...)
	}
	for i, off := 0, 0; i < len(keys); i++ {
		n := len(keys[i])
		keys[i] = arena[off : off+n : off+n]
		off += n
	}
	return keys
}

func string2cmp(a, b []byte) int {
	switch {
	case string(a) < string(b):
		return -1
	case string(a) > string(b):
		return 1
	}
	return 0
}

// BenchmarkSort sorts 1,000,000 planner-shaped keys, random and
// presorted, in memory and spilled, and reports the CPU per million
// records of adding, of finishing (the chunks' sorting that was left)
// and of iterating.
func BenchmarkSort(b *testing.B) {
	const n = 1_000_000
	for _, order := range []string{"random", "sorted"} {
		keys := benchKeys(1, n, order)
		for _, mem := range []int64{1 << 30, 32 << 20} {
			for _, cb := range []int{0, 256 << 10, 1 << 20} {
				b.Run(fmt.Sprintf("%s/%dMiB/chunk%dKiB", order, mem>>20, cb>>10), func(b *testing.B) {
					var add, iter time.Duration
					var st Stats
					for range b.N {
						s := New(Options{Memory: mem, TmpDir: b.TempDir(), ChunkBytes: cb})
						c0 := cpuTime()
						for i, k := range keys {
							if i%4096 == 0 {
								s.Split()
							}
							if err := s.Add(k, nil); err != nil {
								b.Fatal(err)
							}
						}
						it, err := s.Finish(context.Background())
						if err != nil {
							b.Fatal(err)
						}
						c1 := cpuTime()
						m := 0
						for it.Next() {
							m++
						}
						if it.Err() != nil || m != n {
							b.Fatal(it.Err(), m)
						}
						c2 := cpuTime()
						add += c1 - c0
						iter += c2 - c1
						st = s.Stats()
						s.Close()
					}
					b.ReportMetric(add.Seconds()*1e6/float64(n*b.N), "add-cpu-s/Mrec")
					b.ReportMetric(iter.Seconds()*1e6/float64(n*b.N), "iter-cpu-s/Mrec")
					b.ReportMetric(float64(st.Runs), "runs")
					b.ReportMetric(float64(st.Sources), "sources")
				})
			}
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fileKeys reads length-prefixed keys from the file EXTSORT_KEYS names
// (for measuring on keys dumped from a real plan), or skips.
func fileKeys(b *testing.B) [][]byte {
	path := os.Getenv("EXTSORT_KEYS")
	if path == "" {
		b.Skip("EXTSORT_KEYS not set")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var keys [][]byte
	for i := 0; i < len(raw); {
		n, k := binary.Uvarint(raw[i:])
		i += k
		keys = append(keys, raw[i:i+int(n):i+int(n)])
		i += int(n)
	}
	return keys
}

// BenchmarkSortFile is BenchmarkSort on the keys of EXTSORT_KEYS, also
// timing the chunk sort alone (radix, then front-coding).
func BenchmarkSortFile(b *testing.B) {
	keys := fileKeys(b)
	n := len(keys)
	b.Run("all", func(b *testing.B) {
		var add, iter time.Duration
		for range b.N {
			s := New(Options{Memory: 1 << 30, TmpDir: b.TempDir()})
			c0 := cpuTime()
			for i, k := range keys {
				if i%16384 == 0 {
					s.Split()
				}
				if err := s.Add(k, nil); err != nil {
					b.Fatal(err)
				}
			}
			it, err := s.Finish(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			c1 := cpuTime()
			for it.Next() {
			}
			add += c1 - c0
			iter += cpuTime() - c1
			s.Close()
		}
		b.ReportMetric(add.Seconds()*1e6/float64(n*b.N), "add-cpu-s/Mrec")
		b.ReportMetric(iter.Seconds()*1e6/float64(n*b.N), "iter-cpu-s/Mrec")
	})
	b.Run("chunks", func(b *testing.B) {
		s := New(Options{Memory: 1 << 30})
		defer s.Close()
		var sortT, writeT time.Duration
		for range b.N {
			c := &chunk{}
			flush := func() {
				t0 := time.Now()
				c.sortEnts(c.ents)
				t1 := time.Now()
				p, err := s.writePiece(c, c.ents, 0)
				if err != nil {
					b.Fatal(err)
				}
				s.releasePiece(p)
				sortT += t1.Sub(t0)
				writeT += time.Since(t1)
				c.reset()
			}
			for _, k := range keys {
				if len(c.data)+len(k) > 1<<20 {
					flush()
				}
				c.add(k, nil)
			}
			flush()
		}
		b.ReportMetric(sortT.Seconds()*1e9/float64(n*b.N), "sort-ns/rec")
		b.ReportMetric(writeT.Seconds()*1e9/float64(n*b.N), "write-ns/rec")
	})
}
