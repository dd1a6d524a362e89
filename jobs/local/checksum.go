package local

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"
)

// crc64NVME is the CRC-64/NVME table (reflected polynomial of
// 0xad93d23594c935a9; Go's crc64 applies the init and final xor of ^0).
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// xxh3Hash and xxh128Hash adapt zeebo/xxh3 to hash.Hash (big-endian
// digests, as the checksum is reported).
type xxh3Hash struct{ *xxh3.Hasher }

func (h xxh3Hash) Sum(b []byte) []byte { return binary.BigEndian.AppendUint64(b, h.Sum64()) }

type xxh128Hash struct{ *xxh3.Hasher }

func (h xxh128Hash) Sum(b []byte) []byte {
	s := h.Sum128()
	b = binary.BigEndian.AppendUint64(b, s.Hi)
	return binary.BigEndian.AppendUint64(b, s.Lo)
}
func (h xxh128Hash) Size() int { return 16 }

// newChecksum returns the hash of a ComputeObjectChecksum algorithm, nil
// for an unknown one.
func newChecksum(a types.ComputeObjectChecksumAlgorithm) hash.Hash {
	switch a {
	case types.ComputeObjectChecksumAlgorithmCrc32:
		return crc32.NewIEEE()
	case types.ComputeObjectChecksumAlgorithmCrc32c:
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case types.ComputeObjectChecksumAlgorithmCrc64nvme:
		return crc64.New(crc64NVME)
	case types.ComputeObjectChecksumAlgorithmMd5:
		return md5.New()
	case types.ComputeObjectChecksumAlgorithmSha1:
		return sha1.New()
	case types.ComputeObjectChecksumAlgorithmSha256:
		return sha256.New()
	case types.ComputeObjectChecksumAlgorithmSha512:
		return sha512.New()
	case types.ComputeObjectChecksumAlgorithmXxhash64:
		return xxhash.New()
	case types.ComputeObjectChecksumAlgorithmXxhash3:
		return xxh3Hash{xxh3.New()}
	case types.ComputeObjectChecksumAlgorithmXxhash128:
		return xxh128Hash{xxh3.New()}
	}
	return nil
}

// checksumResult is the ResultMessage of a ComputeObjectChecksum task,
// with the fields in the order of AWS's example (docs/formats.md#rows).
type checksumResult struct {
	Base64    string `json:"checksum_base64"`
	ETag      string `json:"etag"`
	Algorithm string `json:"checksumAlgorithm"`
	Type      string `json:"checksumType"`
	Hex       string `json:"checksum_hex"`
}

// computeChecksum reads the object and returns the result message. The
// checksum is of the whole object (FULL_OBJECT); COMPOSITE needs the
// part layout of a multipart upload, which the engine does not know, and
// fails with 400 InvalidRequest. Stores without ETags (a directory) get
// the MD5 of the data as the ETag, as a one-PUT upload would have.
func computeChecksum(ctx context.Context, st Storage, o ObjectRef, alg types.ComputeObjectChecksumAlgorithm, typ types.ComputeObjectChecksumType) (string, error) {
	if typ == "" {
		typ = types.ComputeObjectChecksumTypeFullObject
	}
	if typ != types.ComputeObjectChecksumTypeFullObject {
		return "", &TaskError{HTTPStatus: 400, Code: "InvalidRequest", Message: s3Message("ChecksumType "+string(typ)+" is not computed by the local engine: use FULL_OBJECT", 400, "InvalidRequest")}
	}
	h := newChecksum(alg)
	if h == nil {
		return "", &TaskError{HTTPStatus: 400, Code: "InvalidRequest", Message: s3Message("Unknown ChecksumAlgorithm "+string(alg), 400, "InvalidRequest")}
	}
	r, meta, err := st.Open(ctx, o)
	if err != nil {
		return "", err
	}
	defer r.Close()
	etag := md5.New()
	w := io.Writer(h)
	if meta.ETag == "" {
		w = io.MultiWriter(h, etag)
	}
	if _, err := io.Copy(w, r); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var te *TaskError
		if errors.As(err, &te) {
			return "", te
		}
		return "", transportError(fmt.Errorf("reading the object: %w", err))
	}
	if meta.ETag == "" {
		meta.ETag = hex.EncodeToString(etag.Sum(nil))
	}
	sum := h.Sum(nil)
	b, err := json.Marshal(checksumResult{Base64: base64.StdEncoding.EncodeToString(sum), ETag: meta.ETag,
		Algorithm: string(alg), Type: string(typ), Hex: hex.EncodeToString(sum)})
	return string(b), err
}
