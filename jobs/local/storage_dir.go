package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// DirStorage runs tasks against a directory of buckets: <Root>/<bucket>/
// <key>, the key's slashes as folders. A bucket is a folder that exists.
//
// A directory keeps one version per key: a version id other than "null"
// fails with 404 NoSuchVersion (the local root has no history to act on).
// Tags live beside the data, in <Root>/.s3batchkit/tags/<bucket>/<key>.json;
// metadata, storage classes, ACLs, encryption, object locks and checksums
// are not kept (a copy carries the bytes and the tags), so CheckOperation
// refuses copies that ask for them. A directory has no archive: a restore
// fails with 501 NotImplemented, saying so. Keys that cannot be paths (an
// empty, "." or ".." segment, a trailing slash, a NUL byte) fail with 400
// InvalidRequest, as does a key that is a folder of another key.
type DirStorage struct {
	Root string
	// Sync fsyncs every object written before its task is reported done.
	// Off: a crash of the machine (not of the process) may lose copies
	// the state already records.
	Sync bool
}

const tagsDir = ".s3batchkit/tags"

func invalidKey(key, why string) *TaskError {
	return &TaskError{HTTPStatus: 400, Code: "InvalidRequest", Message: s3Message(fmt.Sprintf("The key %q cannot be stored under the local root: %s", key, why), 400, "InvalidRequest")}
}

func (s *DirStorage) bucketDir(bucket string) (string, error) {
	if bucket == "" || strings.ContainsAny(bucket, "/\\\x00") || bucket == "." || bucket == ".." || strings.HasPrefix(bucket, ".") {
		return "", &TaskError{HTTPStatus: 400, Code: "InvalidBucketName", Message: s3Message("The specified bucket is not valid.", 400, "InvalidBucketName")}
	}
	return filepath.Join(s.Root, bucket), nil
}

// path returns the file of an object.
func (s *DirStorage) path(bucket, key string) (string, error) {
	dir, err := s.bucketDir(bucket)
	if err != nil {
		return "", err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return "", invalidKey(key, "it names a folder")
	}
	if strings.IndexByte(key, 0) >= 0 {
		return "", invalidKey(key, "it holds a NUL byte")
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", invalidKey(key, "it has an empty, '.' or '..' segment")
		}
	}
	return filepath.Join(dir, filepath.FromSlash(key)), nil
}

func (s *DirStorage) tagPath(bucket, key string) string {
	return filepath.Join(s.Root, filepath.FromSlash(tagsDir), bucket, filepath.FromSlash(key)+".json")
}

// Locate implements Storage.
func (s *DirStorage) Locate(bucket, key string) (string, error) {
	dir, err := s.bucketDir(bucket)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(key)), nil
}

// stat checks the bucket, the key and the version, and stats the file.
func (s *DirStorage) stat(o ObjectRef) (string, fs.FileInfo, error) {
	p, err := s.path(o.Bucket, o.Key)
	if err != nil {
		return "", nil, err
	}
	st, err := os.Stat(p)
	if err != nil || st.IsDir() {
		if _, berr := os.Stat(filepath.Join(s.Root, o.Bucket)); berr != nil {
			return "", nil, noSuchBucket()
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return "", nil, err
		}
		if o.VersionID != "" && o.VersionID != "null" {
			return "", nil, noSuchVersion()
		}
		return "", nil, noSuchKey()
	}
	if o.VersionID != "" && o.VersionID != "null" {
		return "", nil, noSuchVersion()
	}
	return p, st, nil
}

// Head implements Storage.
func (s *DirStorage) Head(ctx context.Context, o ObjectRef) (ObjectMeta, error) {
	_, st, err := s.stat(o)
	if err != nil {
		return ObjectMeta{}, err
	}
	return ObjectMeta{Size: st.Size(), StorageClass: "STANDARD"}, nil
}

// writeFile writes r to p through a temporary file and a rename.
func (s *DirStorage) writeFile(p, key string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return invalidKey(key, err.Error())
	}
	f, err := objio.CreateTempBeside(p)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil && s.Sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if st, serr := os.Stat(p); serr == nil && st.IsDir() {
			err = invalidKey(key, "a folder of other keys has its name")
		} else {
			err = os.Rename(f.Name(), p)
		}
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Copy implements Storage. Tags: NewObjectTagging when given, else the
// source's. ModifiedSinceConstraint and UnModifiedSinceConstraint are
// checked against the file's modification time (412 PreconditionFailed,
// as S3 answers a copy whose source condition fails).
func (s *DirStorage) Copy(ctx context.Context, src ObjectRef, dstBucket, dstKey string, op *types.S3CopyObjectOperation) error {
	sp, st, err := s.stat(src)
	if err != nil {
		return err
	}
	mod := st.ModTime()
	if (op.ModifiedSinceConstraint != nil && !mod.After(*op.ModifiedSinceConstraint)) ||
		(op.UnModifiedSinceConstraint != nil && mod.After(*op.UnModifiedSinceConstraint)) {
		return &TaskError{HTTPStatus: 412, Code: "PreconditionFailed", Message: s3Message("At least one of the pre-conditions you specified did not hold", 412, "PreconditionFailed")}
	}
	dp, err := s.path(dstBucket, dstKey)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(s.Root, dstBucket)); err != nil {
		return noSuchBucket()
	}
	f, err := os.Open(sp)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.writeFile(dp, dstKey, f); err != nil {
		return err
	}
	tags := op.NewObjectTagging
	if tags == nil {
		tags, err = s.readTags(src.Bucket, src.Key)
		if err != nil {
			return err
		}
	}
	return s.writeTags(dstBucket, dstKey, tags)
}

func (s *DirStorage) readTags(bucket, key string) ([]types.S3Tag, error) {
	raw, err := os.ReadFile(s.tagPath(bucket, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m []struct{ Key, Value string }
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", s.tagPath(bucket, key), err)
	}
	out := make([]types.S3Tag, len(m))
	for i, t := range m {
		out[i] = types.S3Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)}
	}
	return out, nil
}

// ReadTags returns the tags of an object (for tests and tools).
func (s *DirStorage) ReadTags(bucket, key string) (map[string]string, error) {
	tags, err := s.readTags(bucket, key)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m, nil
}

func (s *DirStorage) writeTags(bucket, key string, tags []types.S3Tag) error {
	p := s.tagPath(bucket, key)
	if len(tags) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	m := make([]struct{ Key, Value string }, len(tags))
	for i, t := range tags {
		m[i].Key, m[i].Value = aws.ToString(t.Key), aws.ToString(t.Value)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.writeFile(p, key, strings.NewReader(string(raw)))
}

// PutTagging implements Storage.
func (s *DirStorage) PutTagging(ctx context.Context, o ObjectRef, tags []types.S3Tag) error {
	if _, _, err := s.stat(o); err != nil {
		return err
	}
	return s.writeTags(o.Bucket, o.Key, tags)
}

// DeleteTagging implements Storage.
func (s *DirStorage) DeleteTagging(ctx context.Context, o ObjectRef) error {
	if _, _, err := s.stat(o); err != nil {
		return err
	}
	return s.writeTags(o.Bucket, o.Key, nil)
}

// Restore implements Storage: a directory has no archive, so nothing can
// be restored; an object that exists fails with 501 NotImplemented, as an
// S3-compatible store without archive tiers answers (versitygw does).
func (s *DirStorage) Restore(ctx context.Context, o ObjectRef, days *int32, tier types.S3GlacierJobTier) (string, error) {
	if _, _, err := s.stat(o); err != nil {
		return "", err
	}
	return "", &TaskError{HTTPStatus: 501, Code: "NotImplemented",
		Message: s3Message("The local root has no archive tiers: nothing was restored (the object is readable as it is)", 501, "NotImplemented")}
}

// CheckOperation implements Storage: a copy may not ask for what a
// directory does not keep.
func (s *DirStorage) CheckOperation(op types.JobOperation) error {
	c := op.S3PutObjectCopy
	if c == nil {
		return nil
	}
	var asked []string
	if c.StorageClass != "" && c.StorageClass != types.S3StorageClassStandard {
		asked = append(asked, "StorageClass "+string(c.StorageClass))
	}
	if m := c.NewObjectMetadata; m != nil && c.MetadataDirective == types.S3MetadataDirectiveReplace {
		asked = append(asked, "NewObjectMetadata")
	}
	if c.CannedAccessControlList != "" || len(c.AccessControlGrants) > 0 {
		asked = append(asked, "ACLs (CannedAccessControlList, AccessControlGrants)")
	}
	if c.RedirectLocation != nil {
		asked = append(asked, "RedirectLocation")
	}
	if c.SSEAwsKmsKeyId != nil || c.BucketKeyEnabled || (c.NewObjectMetadata != nil && c.NewObjectMetadata.SSEAlgorithm != "") {
		asked = append(asked, "encryption (SSEAwsKmsKeyId, BucketKeyEnabled, SSEAlgorithm)")
	}
	if c.ChecksumAlgorithm != "" {
		asked = append(asked, "ChecksumAlgorithm")
	}
	if c.ObjectLockMode != "" || c.ObjectLockLegalHoldStatus != "" || c.ObjectLockRetainUntilDate != nil {
		asked = append(asked, "object locks")
	}
	if len(asked) > 0 {
		return fmt.Errorf("a directory of buckets keeps the bytes and tags of a copy only, not its %s: leave them out, or run against an S3 endpoint", strings.Join(asked, ", "))
	}
	return nil
}

// Open implements Storage.
func (s *DirStorage) Open(ctx context.Context, o ObjectRef) (io.ReadCloser, ObjectMeta, error) {
	p, st, err := s.stat(o)
	if err != nil {
		return nil, ObjectMeta{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, ObjectMeta{}, err
	}
	return f, ObjectMeta{Size: st.Size(), StorageClass: "STANDARD"}, nil
}
