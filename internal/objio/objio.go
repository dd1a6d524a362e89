package objio

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ObjectInfo describes one object.
type ObjectInfo struct {
	Name    string    // its location: a local path or s3://bucket/key
	Size    int64     // bytes
	ETag    string    // S3: the ETag without quotes; local: empty, or the MD5 after Upload
	ModTime time.Time // last modified
}

// Object is an open object with random access. Close must be called.
type Object interface {
	io.ReaderAt
	io.Reader
	io.Closer
	// Size returns the object's length in bytes.
	Size() int64
	// Name returns the location the object was opened by.
	Name() string
}

// IsS3 reports whether loc is an s3:// URL.
func IsS3(loc string) bool { return strings.HasPrefix(loc, "s3://") }

type localObject struct {
	*os.File
	size int64
	name string
}

func (o *localObject) Size() int64  { return o.size }
func (o *localObject) Name() string { return o.name }

// Open opens the object at loc for reading. A missing object wraps
// ErrNotFound.
//
// For s3:// the size and ETag come from one HeadObject; reads are ranged
// GETs with If-Match on that ETag, and use ctx (canceling it stops them).
// Read streams with read-ahead (Config.Concurrency GETs of
// Config.PartSize in flight); ReadAt is safe for concurrent use and keeps
// a read-ahead stream of its own for a caller that reads the whole object
// in order in chunks of 1 MiB or more.
func (c *Client) Open(ctx context.Context, loc string) (Object, error) {
	c = c.orZero()
	if IsS3(loc) {
		return c.s3Open(ctx, loc)
	}
	f, err := os.Open(loc)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", loc, ErrNotFound)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, expected a file", loc)
	}
	return &localObject{File: f, size: st.Size(), name: loc}, nil
}

// ReadAll reads a whole (small) object, such as a manifest.json.
func (c *Client) ReadAll(ctx context.Context, loc string) ([]byte, error) {
	c = c.orZero()
	o, err := c.Open(ctx, loc)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

// Exists reports whether an object exists at loc. A directory (or an S3
// prefix) is not an object.
//
// On S3 a missing object is told by a 404, which S3 answers only to
// callers allowed to list the bucket (s3:ListBucket): others get a 403,
// which Exists returns as an *AccessError, never as false. Code that may
// run with s3:GetObject alone must not probe for keys it is not sure of.
func (c *Client) Exists(ctx context.Context, loc string) (bool, error) {
	c = c.orZero()
	if IsS3(loc) {
		_, err := c.Stat(ctx, loc)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	st, err := os.Stat(loc)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return !st.IsDir(), nil
}

// Dir returns the parent location of loc. The parent of a bucket root
// (s3://bucket) is itself, as "/" is for local paths.
func Dir(loc string) string {
	if IsS3(loc) {
		rest := strings.TrimSuffix(strings.TrimPrefix(loc, "s3://"), "/")
		i := strings.LastIndexByte(rest, '/')
		if i < 0 {
			return "s3://" + rest
		}
		return "s3://" + rest[:i]
	}
	return filepath.Dir(loc)
}

// Join joins a location and a slash-separated relative key.
func Join(base, rel string) string {
	if IsS3(base) {
		return strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(rel, "/")
	}
	return filepath.Join(base, filepath.FromSlash(rel))
}

// WriteFileAtomic writes data to loc so that readers see either the old
// object or the new one, never a part.
//
// Locally it writes a temporary file in the same folder, syncs it and
// renames it over loc. On S3 it is one PUT (with Content-MD5), or a
// multipart upload for large data: S3 makes an object visible only when
// its PUT or CompleteMultipartUpload succeeds, so a temporary key and a
// copy would add a request and a leftover on failure without making the
// write any more atomic. Callers that publish several objects write their
// commit marker (plan.json) last.
func (c *Client) WriteFileAtomic(ctx context.Context, loc string, data []byte) error {
	c = c.orZero()
	if IsS3(loc) {
		_, err := c.s3Upload(ctx, loc, bytes.NewReader(data), int64(len(data)), UploadOptions{})
		return err
	}
	f, err := CreateTempBeside(loc)
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, loc); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// CreateTempBeside creates a new file beside the local path loc, named
// after it, for an atomic write (write, sync, close, rename onto loc).
// Unlike os.CreateTemp (always 0600) it asks for 0666, so that the umask
// decides the mode, as for every other file a command writes (0644 under
// the usual umask 022).
func CreateTempBeside(loc string) (*os.File, error) {
	dir, base := filepath.Dir(loc), filepath.Base(loc)
	var b [8]byte
	for range 100 {
		rand.Read(b[:])
		f, err := os.OpenFile(filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(b[:])), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if os.IsExist(err) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("creating a temporary file beside %s: too many names taken", loc)
}

// Stat describes the object at loc; a missing one wraps ErrNotFound.
func (c *Client) Stat(ctx context.Context, loc string) (ObjectInfo, error) {
	c = c.orZero()
	if IsS3(loc) {
		info, _, err := c.s3Stat(ctx, loc)
		return info, err
	}
	st, err := os.Stat(loc)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ObjectInfo{}, fmt.Errorf("%s: %w", loc, ErrNotFound)
		}
		return ObjectInfo{}, err
	}
	if st.IsDir() {
		return ObjectInfo{}, fmt.Errorf("%s: is a directory, expected a file", loc)
	}
	return ObjectInfo{Name: loc, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// List returns every object whose location starts with prefix, at any
// depth, sorted by name. On S3 the prefix is a key prefix
// (s3://bucket/reports/ or s3://bucket/reports/job-); locally it is a
// directory, listed recursively, or a path prefix within a directory
// (reports/job-). A prefix that matches nothing gives an empty list.
func (c *Client) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	c = c.orZero()
	if IsS3(prefix) {
		return c.s3List(ctx, prefix)
	}
	root, match := prefix, ""
	if st, err := os.Stat(prefix); err != nil || !st.IsDir() {
		root, match = filepath.Dir(prefix), prefix
	}
	var out []ObjectInfo
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if match != "" && p != root && !strings.HasPrefix(p, match) && !strings.HasPrefix(match, p+string(filepath.Separator)) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || (match != "" && !strings.HasPrefix(p, match)) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, ObjectInfo{Name: p, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// UploadOptions tune Upload. The zero value is fine.
type UploadOptions struct {
	// MD5 is the hex MD5 of the data when the caller knows it (a shard's
	// plan.json entry): it is sent as Content-MD5, so S3 rejects bytes
	// that differ. Empty: computed for one-PUT uploads.
	MD5 string
	// SinglePart forces one PUT (up to 5 GiB), whose ETag is the MD5 of
	// the data — needed for Batch Operations manifests, whose ETag the
	// plan predicts.
	SinglePart bool
	// ContentType of the object; empty leaves the server's default.
	ContentType string
}

// Upload writes size bytes of r to loc and returns what was written; on S3
// ETag is the new object's ETag (the MD5 of the data after one PUT, or
// "<md5 of part md5s>-<parts>" after a multipart upload, chosen from
// Config.MultipartThreshold), locally the MD5 of the data. The object
// appears whole or not at all (see WriteFileAtomic).
func (c *Client) Upload(ctx context.Context, loc string, r io.ReaderAt, size int64, o UploadOptions) (ObjectInfo, error) {
	c = c.orZero()
	if IsS3(loc) {
		return c.s3Upload(ctx, loc, r, size, o)
	}
	h := md5.New()
	f, err := CreateTempBeside(loc)
	if err != nil {
		return ObjectInfo{}, err
	}
	tmp := f.Name()
	_, err = io.Copy(io.MultiWriter(f, h), io.NewSectionReader(r, 0, size))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err == nil && o.MD5 != "" && !strings.EqualFold(o.MD5, sum) {
		err = fmt.Errorf("writing %s: data MD5 %s, expected %s", loc, sum, o.MD5)
	}
	if err == nil {
		err = os.Rename(tmp, loc)
	}
	if err != nil {
		os.Remove(tmp)
		return ObjectInfo{}, err
	}
	return ObjectInfo{Name: loc, Size: size, ETag: sum, ModTime: time.Now()}, nil
}

// Remove deletes the object at loc. Removing a missing S3 object is not
// an error (S3 semantics); a missing local file is.
func (c *Client) Remove(ctx context.Context, loc string) error {
	c = c.orZero()
	if IsS3(loc) {
		return c.s3Remove(ctx, loc)
	}
	return os.Remove(loc)
}

// ListFolders returns the names of the folders directly under the folder
// loc, sorted: on S3 the common prefixes of a listing with delimiter "/"
// (s3://b/inv/cfg/ → 2024-11-01T01-00Z, data, hive …), locally the
// subdirectories. A folder that does not exist has none. Listing S3
// needs s3:ListBucket: without it the error is an *AccessError.
func (c *Client) ListFolders(ctx context.Context, loc string) ([]string, error) {
	c = c.orZero()
	if IsS3(loc) {
		return c.s3ListFolders(ctx, loc)
	}
	ents, err := os.ReadDir(loc)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}
