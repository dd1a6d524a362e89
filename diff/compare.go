package diff

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// Object is one row of a side, as the merge sees it. Byte slices are
// valid only during the call that receives the Object. Bucket is empty
// when the sorted stream does not carry it (Run keeps each side's bucket
// aside: a side holds one bucket).
type Object struct {
	Bucket, Key, VersionID []byte
	ETag                   []byte
	StorageClass           []byte // upper case; empty when unknown
	TieringTier            []byte
	ChecksumAlgorithm      []byte
	EncryptionStatus       []byte
	Size                   int64
	LastModified           int64 // ms since the epoch, UTC
	HasSize                bool
	HasLastModified        bool
	Multipart              bool // IsMultipartUploaded, when HasMultipart
	HasMultipart           bool
	Latest                 bool // IsLatest, when HasLatest
	HasLatest              bool
}

// IsMultipart reports whether the object was uploaded in parts: its
// IsMultipartUploaded flag when the report has one, else an ETag ending in
// "-N" (the form S3 gives multipart ETags).
func (o *Object) IsMultipart() bool {
	if o.HasMultipart {
		return o.Multipart
	}
	return multipartETag(o.ETag)
}

func multipartETag(etag []byte) bool {
	etag = bytes.Trim(etag, `"`)
	i := bytes.LastIndexByte(etag, '-')
	if i <= 0 || i == len(etag)-1 {
		return false
	}
	for _, c := range etag[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Compare is the rule that decides whether an object present on both
// sides changed. Each criterion set adds a test; the object changed when
// any test says so. The zero value means DefaultCompare.
//
//	criterion  changed when                                  needs (both reports)
//	---------  --------------------------------------------  ----------------------
//	size       the sizes differ                              Size
//	etag       the ETags differ                              ETag
//	checksum   the checksum algorithms differ, or the sizes  ChecksumAlgorithm,
//	           differ, or both ETags are plain content MD5s  ETag, Size
//	           and differ (see below)
//	mtime      the target was last modified before the       LastModifiedDate
//	           source (the source was written after the
//	           copy)
//
// A value missing on one side only differs from any value; missing on
// both sides it is equal. ETags compare without surrounding quotes and
// case-insensitively.
//
// ETag caveats. An ETag is the MD5 of the content only for objects
// uploaded in one part and stored unencrypted or with SSE-S3. A multipart
// upload's ETag ("<md5 of the part MD5s>-<parts>") depends on the part
// sizes: a copy made with other part sizes — and CopyObject of an object
// up to 5 GiB makes a single-part copy — has another ETag for the same
// bytes, so etag calls it changed. So do SSE-KMS, DSSE-KMS and SSE-C,
// whose ETags are not MD5s. Such mismatches are counted apart
// (Verdict.MultipartETag) and diff.json says how many; when they dominate,
// compare with size (and mtime) instead: --compare size,mtime.
//
// checksum. S3 Inventory lists an object's ChecksumAlgorithm, not the
// checksum itself, so the checksum test is what the reports can prove: the
// algorithm must be the same (a copy without the source's additional
// checksum loses it), the size must be the same, and where both ETags are
// plain content MD5s (single part; not SSE-KMS, DSSE-KMS or SSE-C when the
// report says) they must be equal. Where an ETag is not a content MD5 the
// content is not verified (Verdict.Unverified, counted in diff.json), and
// only the algorithm and size are compared.
type Compare struct {
	Size, ETag, Checksum, MTime bool
}

// DefaultCompare is size,etag.
var DefaultCompare = Compare{Size: true, ETag: true}

// ParseCompare parses a comma-separated list of criteria: size, etag,
// checksum, mtime. "" means DefaultCompare.
func ParseCompare(s string) (Compare, error) {
	var c Compare
	if strings.TrimSpace(s) == "" {
		return DefaultCompare, nil
	}
	for _, p := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "size":
			c.Size = true
		case "etag":
			c.ETag = true
		case "checksum":
			c.Checksum = true
		case "mtime", "last-modified":
			c.MTime = true
		case "":
		default:
			return c, fmt.Errorf("%w: unknown criterion %q: expected size, etag, checksum or mtime", ErrCompare, strings.TrimSpace(p))
		}
	}
	if c == (Compare{}) {
		return c, fmt.Errorf("%w: %q names no criterion", ErrCompare, s)
	}
	return c, nil
}

func (c Compare) orDefault() Compare {
	if c == (Compare{}) {
		return DefaultCompare
	}
	return c
}

// String lists the criteria, comma-separated, in table order.
func (c Compare) String() string {
	c = c.orDefault()
	var out []string
	for _, x := range []struct {
		on   bool
		name string
	}{{c.Size, "size"}, {c.ETag, "etag"}, {c.Checksum, "checksum"}, {c.MTime, "mtime"}} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return strings.Join(out, ",")
}

// Needs returns the columns both reports must carry.
func (c Compare) Needs() inventory.FieldSet {
	c = c.orDefault()
	var s inventory.FieldSet
	if c.Size {
		s = s.With(inventory.Size)
	}
	if c.ETag {
		s = s.With(inventory.ETag)
	}
	if c.Checksum {
		s = s.With(inventory.ChecksumAlgorithm, inventory.ETag, inventory.Size)
	}
	if c.MTime {
		s = s.With(inventory.LastModifiedDate)
	}
	return s
}

// uses returns the columns the rule reads when a report has them: Needs,
// and what tells a content MD5 from other ETags.
func (c Compare) uses() inventory.FieldSet {
	c = c.orDefault()
	if c.ETag || c.Checksum {
		return c.Needs().With(inventory.IsMultipartUploaded, inventory.EncryptionStatus)
	}
	return c.Needs()
}

// Verdict is the outcome of Compare.Changed: which tests found a
// difference, plus notes about the comparison.
type Verdict uint8

const (
	BySize     Verdict = 1 << iota // the sizes differ
	ByETag                         // the ETags differ
	ByChecksum                     // the checksum test failed
	ByMTime                        // the target is older than the source
	// MultipartETag notes that the ETags differ and one of them is not a
	// content MD5 (multipart or KMS/SSE-C): possibly the same bytes.
	MultipartETag
	// Unverified notes that the checksum test could not compare content
	// (an ETag is not a content MD5).
	Unverified

	changedMask = BySize | ByETag | ByChecksum | ByMTime
)

// Changed reports whether the result says the object changed.
func (r Verdict) Changed() bool { return r&changedMask != 0 }

// reasonNames are the names of the By* bits, in bit order.
var reasonNames = [...]string{"size", "etag", "checksum", "mtime"}

// Reasons names the tests that found a difference ("size", "etag", ...).
func (r Verdict) Reasons() []string {
	var out []string
	for i, name := range reasonNames {
		if r&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// Changed applies the rule to the source object s and the target object t.
func (c Compare) Changed(s, t *Object) Verdict {
	c = c.orDefault()
	var r Verdict
	sizeDiffers := s.HasSize != t.HasSize || s.Size != t.Size
	if c.Size && sizeDiffers {
		r |= BySize
	}
	etagDiffers := !equalETag(s.ETag, t.ETag)
	contentMD5 := plainMD5(s) && plainMD5(t)
	if c.ETag && etagDiffers {
		r |= ByETag
		if !contentMD5 {
			r |= MultipartETag
		}
	}
	if c.Checksum {
		switch {
		case !bytes.Equal(normAlgo(s.ChecksumAlgorithm), normAlgo(t.ChecksumAlgorithm)), sizeDiffers:
			r |= ByChecksum
		case !contentMD5:
			r |= Unverified
		case etagDiffers:
			r |= ByChecksum
		}
	}
	if c.MTime && (s.HasLastModified != t.HasLastModified || s.HasLastModified && t.LastModified < s.LastModified) {
		r |= ByMTime
	}
	return r
}

// plainMD5 reports whether o's ETag is the MD5 of its content: one part,
// and not encrypted with a key S3 hides the MD5 under.
func plainMD5(o *Object) bool {
	if len(o.ETag) == 0 || o.IsMultipart() {
		return false
	}
	switch string(o.EncryptionStatus) {
	case "SSE-KMS", "DSSE-KMS", "SSE-C":
		return false
	}
	return true
}

func equalETag(a, b []byte) bool {
	return bytes.EqualFold(bytes.Trim(a, `"`), bytes.Trim(b, `"`))
}

// normAlgo drops '-' so that SHA-256 and SHA256 compare equal (formats.md
// §2.3: the inventory's tokens are unconfirmed).
func normAlgo(a []byte) []byte {
	if bytes.IndexByte(a, '-') < 0 {
		return a
	}
	return bytes.ReplaceAll(a, []byte("-"), nil)
}
