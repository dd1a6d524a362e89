package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/csvscan"
)

// FuzzPipelineMatchesReader reads every input with the two ways result
// files are read, which split records differently: ResultReader (a
// csvscan.Reader over the file) and Run's block pipeline (readStream,
// records cut by blocks and carried into the next), the latter with
// blocks small enough to cut every record. Both must give the same rows
// and the same error.
func FuzzPipelineMatchesReader(f *testing.F) {
	seedFiles(f, ".csv")
	for _, s := range []string{"", "\n", "a,b,,failed,503,X,\"m\"\"q\"\r\n", "a,b,,succeeded,200,,\"", `a,b,c,d,e,f,"g`, "b,k,,failed,Code,404,m\n",
		"b,k%20x,,succeeded,200,,ok\r\n\r\nb,\"k,\"\"q\",v,FAILED,503,SlowDown,\"a\nb\"\rb,k,,failed,500,,x",
		"b,k+%2B%zz,,succeeded,200,,m\n", "b,k\"x,,succeeded,200,,m\"\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, plus := range []bool{false, true} {
			want, wantOrder, wantErr := readerRows(data, plus, 4096)
			for _, br := range []int{1, 3} {
				got, order, err := readerRows(data, plus, br)
				compareRows(t, fmt.Sprintf("ReadBatch %d rows, plus %v", br, plus), got, err, order, want, wantErr, wantOrder)
			}
			for _, bs := range []int{0, 64, 5} {
				got, order, err := pipelineRows(t, data, plus, bs)
				compareRows(t, fmt.Sprintf("pipeline, %d-byte blocks, plus %v", bs, plus), got, err, order, want, wantErr, wantOrder)
			}
		}
	})
}

// readerRows reads data with ResultReader, br rows a batch; the error is
// io.EOF at a clean end.
func readerRows(data []byte, plus bool, br int) ([]Row, ColumnOrder, error) {
	rr := NewResultReader(bytes.NewReader(data), "fuzz.csv", ReaderOptions{BatchRows: br, PlusAsSpace: plus})
	var rows []Row
	var b Batch
	for {
		err := rr.ReadBatch(&b)
		for _, r := range b.Rows {
			rows = append(rows, cloneRow(r))
		}
		if err != nil {
			return rows, rr.Order(), err
		}
	}
}

// pipelineRows reads data as Run does, with blocks of bs bytes (zero:
// blockSize; 5 is smaller than blockHead, so that records longer than
// blockHead are carried into blocks of their own).
func pipelineRows(t *testing.T, data []byte, plus bool, bs int) ([]Row, ColumnOrder, error) {
	f := &ResultFile{Job: &Job{ID: "j"}, Location: "fuzz.csv"}
	items := make(chan item, 1000)
	ro := ReaderOptions{BatchRows: 2, PlusAsSpace: plus, prefixDepth: DefaultPrefixDepth, blockSize: bs}
	var rows []Row
	var ferr error
	var order ColumnOrder
	done := make(chan struct{})
	go func() {
		defer close(done)
		for it := range items {
			if it.batch != nil {
				it.batch.fix()
				for _, r := range it.batch.Rows {
					rows = append(rows, cloneRow(r))
				}
				it.batch.release()
			}
			if it.done {
				ferr, order = it.err, it.order
			}
		}
	}()
	if err := readStream(context.Background(), f, bytes.NewReader(data), ro, items, make(chan *Batch, 4)); err != nil {
		t.Fatal(err)
	}
	close(items)
	<-done
	if ferr == nil {
		ferr = io.EOF
	}
	return rows, order, ferr
}

// compareRows checks got against want. After an error, a reader may have
// kept or dropped the rows of the batch the bad row was in: only the rows
// both kept are compared.
func compareRows(t *testing.T, name string, got []Row, err error, order ColumnOrder, want []Row, wantErr error, wantOrder ColumnOrder) {
	t.Helper()
	if wantErr == io.EOF && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: rows\n got %+v\nwant %+v", name, got, want)
	}
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: row %d\n got %+v\nwant %+v", name, i, got[i], want[i])
		}
	}
	if wantErr == io.EOF {
		if err != io.EOF {
			t.Fatalf("%s: error %v, want none", name, err)
		}
		if order != wantOrder {
			t.Fatalf("%s: order %v, want %v", name, order, wantOrder)
		}
		return
	}
	var gd, wd *DataError
	if !errors.As(err, &gd) || !errors.As(wantErr, &wd) {
		t.Fatalf("%s: error %v, want %v", name, err, wantErr)
	}
	// What follows a stray quote is shown up to 16 bytes, of those read
	// so far: tiny blocks show fewer.
	sameValue := gd.Value == wd.Value || errors.Is(gd, ErrSyntax) && strings.HasPrefix(wd.Value, gd.Value)
	for _, e := range []error{ErrSyntax, ErrFieldCount, ErrBadValue, ErrBadEscape, csvscan.ErrBareQuote, csvscan.ErrAfterQuote, csvscan.ErrUnterminated, csvscan.ErrTooLong} {
		if errors.Is(gd, e) != errors.Is(wd, e) {
			t.Fatalf("%s: error\n got %v\nwant %v", name, gd, wd)
		}
	}
	if gd.Line != wd.Line || gd.Field != wd.Field || !sameValue || gd.Expected != wd.Expected {
		t.Fatalf("%s: error\n got %+v\nwant %+v", name, gd, wd)
	}
}

// TestPipelineLongRecords reads records longer than the room before a
// block (blockHead), cut by many blocks, as ResultReader reads them.
func TestPipelineLongRecords(t *testing.T) {
	var data []byte
	for i := 0; i < 5; i++ {
		data = fmt.Appendf(data, "b,k%d,,succeeded,200,,ok\n", i)
		msg := bytes.Repeat([]byte(`x""y,`), (blockHead+i*7000)/5)
		data = fmt.Appendf(data, "b,long%d,,failed,500,InternalError,\"%s\nend\"\r\n", i, msg)
	}
	data = append(data, "b,last,,succeeded,200,,\"no final newline\""...)
	want, wantOrder, wantErr := readerRows(data, false, 4096)
	if wantErr != io.EOF || len(want) != 11 {
		t.Fatalf("ResultReader: %d rows, %v", len(want), wantErr)
	}
	for i, r := range want[:10] {
		if i%2 == 1 && (string(r.Key) != fmt.Sprintf("long%d", i/2) || !bytes.HasSuffix(r.Message, []byte("x\"y,\nend")) || bytes.Contains(r.Message, []byte(`""`))) {
			t.Fatalf("row %d: key %q, message ending %q", i, r.Key, r.Message[max(0, len(r.Message)-20):])
		}
	}
	for _, bs := range []int{0, 1000, 4093} {
		got, order, err := pipelineRows(t, data, false, bs)
		compareRows(t, fmt.Sprintf("%d-byte blocks", bs), got, err, order, want, wantErr, wantOrder)
	}
}

func TestDecodeInPlace(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		plus     bool
		bad      bool
	}{
		{in: "plain", want: "plain"},
		{in: "a%20b%2Fc%2b", want: "a b/c+"},
		{in: "%41%42%43", want: "ABC"},
		{in: "x+%2B", want: "x++"},
		{in: "x+%2B", want: "x +", plus: true},
		{in: "a%2", bad: true},
		{in: "a%", bad: true},
		{in: "a%zz", bad: true},
		{in: "a%20%g0", bad: true},
	} {
		v := []byte(tt.in)
		n, err := decodeInPlace(v, tt.plus)
		if tt.bad {
			if err == nil {
				t.Errorf("decode(%q) = %q, want an error", tt.in, v[:n])
			}
			continue
		}
		if err != nil || string(v[:n]) != tt.want {
			t.Errorf("decode(%q, %v) = %q, %v; want %q", tt.in, tt.plus, v[:n], err, tt.want)
		}
	}
}
