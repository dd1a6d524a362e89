// Package objio is the one place where s3batchkit touches storage: it opens,
// reads, lists and atomically writes objects named by a local path or (once
// the S3 backend lands) an s3://bucket/key URL. Every other package goes
// through it, so that adding a backend changes one file.
package objio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned (wrapped) when an object does not exist.
var ErrNotFound = errors.New("object not found")

// ErrUnsupported is returned for locations whose scheme has no backend yet.
var ErrUnsupported = errors.New("unsupported location")

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

func checkLocal(loc string) error {
	if IsS3(loc) {
		return fmt.Errorf("%s: %w: s3:// locations are not supported yet", loc, ErrUnsupported)
	}
	return nil
}

type localObject struct {
	*os.File
	size int64
	name string
}

func (o *localObject) Size() int64  { return o.size }
func (o *localObject) Name() string { return o.name }

// Open opens the object at loc for reading.
func Open(ctx context.Context, loc string) (Object, error) {
	if err := checkLocal(loc); err != nil {
		return nil, err
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
func ReadAll(ctx context.Context, loc string) ([]byte, error) {
	o, err := Open(ctx, loc)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

// Exists reports whether an object exists at loc.
func Exists(ctx context.Context, loc string) (bool, error) {
	if err := checkLocal(loc); err != nil {
		return false, err
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

// Dir returns the parent location of loc.
func Dir(loc string) string {
	if IsS3(loc) {
		return "s3://" + path.Dir(strings.TrimPrefix(loc, "s3://"))
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

// WriteFileAtomic writes data to loc through a temporary name in the same
// folder and a rename, so readers see either the old object or the new
// one, never a part.
func WriteFileAtomic(ctx context.Context, loc string, data []byte) error {
	if err := checkLocal(loc); err != nil {
		return err
	}
	dir := filepath.Dir(loc)
	f, err := os.CreateTemp(dir, "."+filepath.Base(loc)+".tmp-*")
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
