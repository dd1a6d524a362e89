package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// scanFiles lays out a report of n files of rows rows each; file i row j
// has key "f<i>/<j>". bad, if not negative, is a file whose last row has
// an unparseable size.
func scanFiles(t *testing.T, n, rows, bad int) string {
	t.Helper()
	var files [][]byte
	for i := range n {
		var sb strings.Builder
		for j := range rows {
			size := fmt.Sprint(j)
			if i == bad && j == rows-1 {
				size = "12x"
			}
			fmt.Fprintf(&sb, "\"src\",\"f%d/%06d\",\"%s\"\n", i, j, size)
		}
		files = append(files, gz(t, sb.String()))
	}
	return testReport(t, "Bucket, Key, Size", files, nil)
}

// TestScanUnordered checks that ScanUnordered hands over every row exactly
// once, each file's rows in file order, for any number of workers; and
// that it stops with the first error, of a file or of the consumer.
func TestScanUnordered(t *testing.T) {
	loc := scanFiles(t, 7, 3000, -1)
	for _, workers := range []int{1, 2, 5, 16} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			opts := ReaderOptions{Workers: workers, BatchRows: 256}
			want, err := readAll(t, loc, opts)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Open(context.Background(), loc, opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			last := map[string]string{} // file → last key seen
			err = r.ScanUnordered(context.Background(), func(rec arrow.RecordBatch) error {
				for _, row := range renderRows(rec) {
					key := strings.Split(strings.Split(row, "|")[1], "=")[1]
					file := strings.Split(key, "/")[0]
					if key <= last[file] {
						return fmt.Errorf("file %s: key %s after %s", file, key, last[file])
					}
					last[file] = key
					got = append(got, row)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d rows, want the %d of the ordered scan", len(got), len(want))
			}
		})
	}

	t.Run("file error", func(t *testing.T) {
		loc := scanFiles(t, 5, 2000, 3)
		r, err := Open(context.Background(), loc, ReaderOptions{Workers: 2, BatchRows: 256})
		if err != nil {
			t.Fatal(err)
		}
		err = r.ScanUnordered(context.Background(), func(arrow.RecordBatch) error { return nil })
		var de *DataError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "f3.csv.gz") {
			t.Fatalf("err = %v, want a DataError naming f3.csv.gz", err)
		}
	})

	t.Run("consumer error", func(t *testing.T) {
		r, err := Open(context.Background(), loc, ReaderOptions{Workers: 3, BatchRows: 256})
		if err != nil {
			t.Fatal(err)
		}
		stop := errors.New("stop")
		calls := 0
		err = r.ScanUnordered(context.Background(), func(arrow.RecordBatch) error {
			calls++
			if calls == 5 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 5 {
			t.Fatalf("err = %v after %d calls, want stop after 5", err, calls)
		}
	})

	t.Run("canceled", func(t *testing.T) {
		r, err := Open(context.Background(), loc, ReaderOptions{Workers: 2, BatchRows: 256})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		err = r.ScanUnordered(ctx, func(arrow.RecordBatch) error {
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}
