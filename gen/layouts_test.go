//lint:file-ignore SA1019 parquet-mr 1.12 (S3's Parquet inventories) marks dictionary pages and v1 data pages PLAIN_DICTIONARY, which the format deprecates; these files write and test that on purpose

package gen

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// TestParquetLayoutsShapes checks in the files' metadata that each
// Parquet layout writes what it claims: data page versions, codecs,
// several row groups, chunks whose dictionary falls back to plain
// encoding midway, parquet-mr's encoding marks and created_by, and
// columns null on every row written as pages of definition levels only
// (no dictionary) where parquet-mr would.
func TestParquetLayoutsShapes(t *testing.T) {
	for _, l := range ParquetLayouts {
		t.Run(l.Name, func(t *testing.T) {
			res, err := Generate(context.Background(), Options{Rows: 6000, Files: 1, Format: "parquet", Out: t.TempDir(), Seed: 4, Versions: true,
				Null: S3Unused, Layout: Layout{Parquet: &l, NullVersionIDs: true}})
			if err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(filepath.Dir(res.Manifest), "data", "*.parquet"))
			data, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			md := f.Metadata()
			wantGroups := 6000 / cmp.Or(l.RowGroupRows, ParquetRowGroupRows)
			if len(md.RowGroups) != max(wantGroups, 1) {
				t.Errorf("%d row groups, want %d", len(md.RowGroups), wantGroups)
			}
			if want := cmp.Or(l.CreatedBy, "s3batchkit gen version (build )"); md.CreatedBy != want {
				t.Errorf("created_by %q, want %q", md.CreatedBy, want)
			}
			codec := map[string]format.CompressionCodec{"": format.Snappy, "snappy": format.Snappy, "gzip": format.Gzip, "zstd": format.Zstd, "none": format.Uncompressed}[l.Compression]
			dataPage := format.DataPage
			if l.PageVersion == 2 {
				dataPage = format.DataPageV2
			}
			fallback := false
			for _, rg := range md.RowGroups {
				for _, c := range rg.Columns {
					cm := c.MetaData
					name := cm.PathInSchema[0]
					if cm.Codec != codec {
						t.Errorf("%s: codec %v, want %v", name, cm.Codec, codec)
					}
					pages := map[format.Encoding]int{}
					dict := false
					for _, s := range cm.EncodingStats {
						switch s.PageType {
						case format.DictionaryPage:
							dict = true
						case dataPage:
							pages[s.Encoding] += int(s.Count)
						default:
							t.Errorf("%s: %d pages of type %v", name, s.Count, s.PageType)
						}
					}
					dictPages := pages[format.RLEDictionary] + pages[format.PlainDictionary]
					if l.PlainDictionary && pages[format.RLEDictionary] > 0 {
						t.Errorf("%s: RLE_DICTIONARY pages in a parquet-mr file: %v", name, cm.EncodingStats)
					}
					if dict && pages[format.Plain] > 0 && dictPages > 0 {
						fallback = true
					}
					f, _ := inventory.LookupField(name)
					if S3Unused.Has(f) {
						if cm.Statistics.NullCount != rg.NumRows {
							t.Errorf("%s: %d nulls in %d rows", name, cm.Statistics.NullCount, rg.NumRows)
						}
						if l.Dictionary != "" && (dict || dictPages > 0) {
							t.Errorf("%s, null on every row, has a dictionary: %v", name, cm.EncodingStats)
						}
					}
				}
			}
			if wantFallback := l.Dictionary == "all" && l.DictionaryMaxBytes > 0; fallback != wantFallback {
				t.Errorf("a chunk falls back from its dictionary to plain: %v, want %v", fallback, wantFallback)
			}
		})
	}
}
