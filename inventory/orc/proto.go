package orc

// Hand-written decoders and encoders for the protobuf messages of the ORC
// file tail and stripe footers (orc_proto.proto). Only the fields this
// package uses are kept; unknown fields are skipped as protobuf requires.

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers from orc_proto.proto.
const (
	psFooterLength         = 1
	psCompression          = 2
	psCompressionBlockSize = 3
	psVersion              = 4
	psMetadataLength       = 5
	psWriterVersion        = 6
	psMagic                = 8000

	ftHeaderLength   = 1
	ftContentLength  = 2
	ftStripes        = 3
	ftTypes          = 4
	ftMetadata       = 5
	ftNumberOfRows   = 6
	ftStatistics     = 7
	ftRowIndexStride = 8
	ftWriter         = 9
	ftEncryption     = 10

	siOffset       = 1
	siIndexLength  = 2
	siDataLength   = 3
	siFooterLength = 4
	siNumberOfRows = 5

	tyKind          = 1
	tySubtypes      = 2
	tyFieldNames    = 3
	tyMaximumLength = 4
	tyPrecision     = 5
	tyScale         = 6

	sfStreams        = 1
	sfColumns        = 2
	sfWriterTimezone = 3
	sfEncryption     = 4

	stKind   = 1
	stColumn = 2
	stLength = 3

	ceKind           = 1
	ceDictionarySize = 2

	umName  = 1
	umValue = 2

	csNumberOfValues = 1
	csHasNull        = 10
)

type postScript struct {
	footerLength   uint64
	compression    uint64
	blockSize      uint64
	version        []uint32
	metadataLength uint64
	writerVersion  uint64
	magic          string
}

type stripeInfo struct {
	offset, indexLength, dataLength, footerLength, numRows uint64
}

type typeProto struct {
	kind       uint64
	subtypes   []uint32
	fieldNames []string
	maxLength  uint64
	precision  uint64
	scale      uint64
}

type footerProto struct {
	headerLength   uint64
	contentLength  uint64
	stripes        []stripeInfo
	types          []typeProto
	metadata       []KeyValue
	numRows        uint64
	rowIndexStride uint64
	writer         uint64
	encrypted      bool
	stats          []ColumnStats
}

type streamProto struct {
	kind   uint64
	column uint64
	length uint64
}

type encodingProto struct {
	kind     uint64
	dictSize uint64
}

type stripeFooterProto struct {
	streams        []streamProto
	encodings      []encodingProto
	writerTimezone string
	encrypted      bool
}

// field is one decoded protobuf field: v holds varint and fixed values, b
// holds length-delimited values (aliasing the input).
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// walkFields calls fn for each field of the message in b. Groups are
// rejected; truncated input is an error.
func walkFields(b []byte, fn func(f field) error) error {
	off := 0
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return corruptf(off, "bad protobuf tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		off += n
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n >= 0 {
				b = b[n:]
				off += n
				continue
			}
		}
		if n < 0 {
			return corruptf(off, "bad protobuf field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		off += n
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// appendUint32s decodes a repeated uint32 field that may be packed or not.
func appendUint32s(dst []uint32, f field) ([]uint32, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, uint32(f.v)), nil
	case protowire.BytesType:
		b := f.b
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return dst, corruptf(-1, "bad packed varint in field %d", f.num)
			}
			dst = append(dst, uint32(v))
			b = b[n:]
		}
		return dst, nil
	}
	return dst, corruptf(-1, "field %d has wire type %d, want varint", f.num, f.typ)
}

func wantVarint(f field) error {
	if f.typ != protowire.VarintType {
		return corruptf(-1, "field %d has wire type %d, want varint", f.num, f.typ)
	}
	return nil
}

func wantBytes(f field) error {
	if f.typ != protowire.BytesType {
		return corruptf(-1, "field %d has wire type %d, want bytes", f.num, f.typ)
	}
	return nil
}

func parsePostScript(b []byte) (postScript, error) {
	var ps postScript
	err := walkFields(b, func(f field) error {
		switch f.num {
		case psFooterLength, psCompression, psCompressionBlockSize, psMetadataLength, psWriterVersion:
			if err := wantVarint(f); err != nil {
				return err
			}
			switch f.num {
			case psFooterLength:
				ps.footerLength = f.v
			case psCompression:
				ps.compression = f.v
			case psCompressionBlockSize:
				ps.blockSize = f.v
			case psMetadataLength:
				ps.metadataLength = f.v
			case psWriterVersion:
				ps.writerVersion = f.v
			}
		case psVersion:
			var err error
			ps.version, err = appendUint32s(ps.version, f)
			return err
		case psMagic:
			if err := wantBytes(f); err != nil {
				return err
			}
			ps.magic = string(f.b)
		}
		return nil
	})
	return ps, err
}

func parseFooter(b []byte) (footerProto, error) {
	var ft footerProto
	err := walkFields(b, func(f field) error {
		switch f.num {
		case ftHeaderLength, ftContentLength, ftNumberOfRows, ftRowIndexStride, ftWriter:
			if err := wantVarint(f); err != nil {
				return err
			}
			switch f.num {
			case ftHeaderLength:
				ft.headerLength = f.v
			case ftContentLength:
				ft.contentLength = f.v
			case ftNumberOfRows:
				ft.numRows = f.v
			case ftRowIndexStride:
				ft.rowIndexStride = f.v
			case ftWriter:
				ft.writer = f.v
			}
		case ftStripes:
			if err := wantBytes(f); err != nil {
				return err
			}
			si, err := parseStripeInfo(f.b)
			if err != nil {
				return err
			}
			ft.stripes = append(ft.stripes, si)
		case ftTypes:
			if err := wantBytes(f); err != nil {
				return err
			}
			t, err := parseType(f.b)
			if err != nil {
				return err
			}
			ft.types = append(ft.types, t)
		case ftMetadata:
			if err := wantBytes(f); err != nil {
				return err
			}
			var kv KeyValue
			err := walkFields(f.b, func(g field) error {
				if g.typ != protowire.BytesType {
					return nil
				}
				switch g.num {
				case umName:
					kv.Key = string(g.b)
				case umValue:
					kv.Value = append([]byte(nil), g.b...)
				}
				return nil
			})
			if err != nil {
				return err
			}
			ft.metadata = append(ft.metadata, kv)
		case ftStatistics:
			if err := wantBytes(f); err != nil {
				return err
			}
			cs, err := parseColumnStats(f.b)
			if err != nil {
				return err
			}
			ft.stats = append(ft.stats, cs)
		case ftEncryption:
			ft.encrypted = true
		}
		return nil
	})
	return ft, err
}

func parseStripeInfo(b []byte) (stripeInfo, error) {
	var si stripeInfo
	err := walkFields(b, func(f field) error {
		switch f.num {
		case siOffset, siIndexLength, siDataLength, siFooterLength, siNumberOfRows:
			if err := wantVarint(f); err != nil {
				return err
			}
		}
		switch f.num {
		case siOffset:
			si.offset = f.v
		case siIndexLength:
			si.indexLength = f.v
		case siDataLength:
			si.dataLength = f.v
		case siFooterLength:
			si.footerLength = f.v
		case siNumberOfRows:
			si.numRows = f.v
		}
		return nil
	})
	return si, err
}

func parseType(b []byte) (typeProto, error) {
	var t typeProto
	err := walkFields(b, func(f field) error {
		switch f.num {
		case tyKind, tyMaximumLength, tyPrecision, tyScale:
			if err := wantVarint(f); err != nil {
				return err
			}
			switch f.num {
			case tyKind:
				t.kind = f.v
			case tyMaximumLength:
				t.maxLength = f.v
			case tyPrecision:
				t.precision = f.v
			case tyScale:
				t.scale = f.v
			}
		case tySubtypes:
			var err error
			t.subtypes, err = appendUint32s(t.subtypes, f)
			return err
		case tyFieldNames:
			if err := wantBytes(f); err != nil {
				return err
			}
			t.fieldNames = append(t.fieldNames, string(f.b))
		}
		return nil
	})
	return t, err
}

func parseStripeFooter(b []byte) (stripeFooterProto, error) {
	var sf stripeFooterProto
	err := walkFields(b, func(f field) error {
		switch f.num {
		case sfStreams:
			if err := wantBytes(f); err != nil {
				return err
			}
			var s streamProto
			err := walkFields(f.b, func(g field) error {
				switch g.num {
				case stKind, stColumn, stLength:
					if err := wantVarint(g); err != nil {
						return err
					}
				}
				switch g.num {
				case stKind:
					s.kind = g.v
				case stColumn:
					s.column = g.v
				case stLength:
					s.length = g.v
				}
				return nil
			})
			if err != nil {
				return err
			}
			sf.streams = append(sf.streams, s)
		case sfColumns:
			if err := wantBytes(f); err != nil {
				return err
			}
			var e encodingProto
			err := walkFields(f.b, func(g field) error {
				switch g.num {
				case ceKind, ceDictionarySize:
					if err := wantVarint(g); err != nil {
						return err
					}
				}
				switch g.num {
				case ceKind:
					e.kind = g.v
				case ceDictionarySize:
					e.dictSize = g.v
				}
				return nil
			})
			if err != nil {
				return err
			}
			sf.encodings = append(sf.encodings, e)
		case sfWriterTimezone:
			if err := wantBytes(f); err != nil {
				return err
			}
			sf.writerTimezone = string(f.b)
		case sfEncryption:
			sf.encrypted = true
		}
		return nil
	})
	return sf, err
}

// Encoders used by the Writer.

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendStringField(b []byte, num protowire.Number, v string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, v)
}

func appendPackedUint32s(b []byte, num protowire.Number, vs []uint32) []byte {
	if len(vs) == 0 {
		return b
	}
	var inner []byte
	for _, v := range vs {
		inner = protowire.AppendVarint(inner, uint64(v))
	}
	return appendBytesField(b, num, inner)
}
