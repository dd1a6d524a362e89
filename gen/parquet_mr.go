//lint:file-ignore SA1019 parquet-mr 1.12 (S3's Parquet inventories) marks dictionary pages and v1 data pages PLAIN_DICTIONARY, which the format deprecates; these files write and test that on purpose

package gen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// plainDictionaryIDs rewrites a Parquet file written by parquet-go as
// parquet-mr's data page v1 writer marks its encodings: dictionary pages
// and dictionary-encoded v1 data pages say PLAIN_DICTIONARY (the bytes
// are those of PLAIN and RLE_DICTIONARY), and so do the column chunks'
// encoding lists. Page headers keep their sizes (the encodings' numbers
// take one byte either way), so no offset moves; the footer is written
// anew.
func plainDictionaryIDs(file []byte) ([]byte, error) {
	var proto thrift.CompactProtocol
	n := len(file)
	if n < 12 || string(file[n-4:]) != "PAR1" {
		return nil, errors.New("gen: not a Parquet file")
	}
	footLen := int(binary.LittleEndian.Uint32(file[n-8 : n-4]))
	footStart := n - 8 - footLen
	var md format.FileMetaData
	if err := thrift.Unmarshal(&proto, file[footStart:n-8], &md); err != nil {
		return nil, fmt.Errorf("gen: footer: %w", err)
	}
	out := bytes.Clone(file[:footStart])
	for i := range md.RowGroups {
		for j := range md.RowGroups[i].Columns {
			cm := &md.RowGroups[i].Columns[j].MetaData
			pos := cm.DataPageOffset
			if cm.DictionaryPageOffset != 0 {
				pos = cm.DictionaryPageOffset
			}
			end := pos + cm.TotalCompressedSize
			for pos < end {
				next, err := rewritePageHeader(&proto, out, int(pos))
				if err != nil {
					return nil, fmt.Errorf("gen: row group %d column %d page at %d: %w", i, j, pos, err)
				}
				pos = int64(next)
			}
			for k, e := range cm.Encoding {
				if e == format.RLEDictionary {
					cm.Encoding[k] = format.PlainDictionary
				}
			}
			for k := range cm.EncodingStats {
				s := &cm.EncodingStats[k]
				if s.Encoding == format.RLEDictionary || (s.PageType == format.DictionaryPage && s.Encoding == format.Plain) {
					s.Encoding = format.PlainDictionary
				}
			}
		}
	}
	foot, err := thrift.Marshal(&proto, &md)
	if err != nil {
		return nil, err
	}
	out = append(out, foot...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(foot)))
	return append(out, "PAR1"...), nil
}

// rewritePageHeader rewrites in place the encoding of the page header at
// b[pos:] as plainDictionaryIDs describes, and returns the position of
// the next page.
func rewritePageHeader(proto *thrift.CompactProtocol, b []byte, pos int) (int, error) {
	r := bytes.NewReader(b[pos:])
	var h format.PageHeader
	if err := thrift.NewDecoder(proto.NewReader(r)).Decode(&h); err != nil {
		return 0, err
	}
	size := len(b) - pos - r.Len()
	changed := false
	switch h.Type {
	case format.DictionaryPage:
		if h.DictionaryPageHeader.Valid && h.DictionaryPageHeader.V.Encoding == format.Plain {
			h.DictionaryPageHeader.V.Encoding, changed = format.PlainDictionary, true
		}
	case format.DataPage:
		if h.DataPageHeader.Valid && h.DataPageHeader.V.Encoding == format.RLEDictionary {
			h.DataPageHeader.V.Encoding, changed = format.PlainDictionary, true
		}
	}
	if changed {
		nb, err := thrift.Marshal(proto, &h)
		if err != nil {
			return 0, err
		}
		if len(nb) != size {
			return 0, fmt.Errorf("page header of %d bytes re-encoded in %d", size, len(nb))
		}
		copy(b[pos:], nb)
	}
	return pos + size + int(h.CompressedPageSize), nil
}
