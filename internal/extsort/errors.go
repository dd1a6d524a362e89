package extsort

import "errors"

// ErrSpill is returned (wrapped, with the file and the cause) when a run
// cannot be written to or read back from the temporary folder, for
// example when the disk is full, or when a run file is found corrupt.
var ErrSpill = errors.New("sort spill failed")

// ErrClosed is returned by a Sorter or Iterator used after Close.
var ErrClosed = errors.New("sorter closed")

// ErrTooLong is returned by Add for a record whose key or value exceeds
// MaxRecordBytes.
var ErrTooLong = errors.New("sort record too long")

// ErrFinished is returned by Add after Finish.
var ErrFinished = errors.New("sorter already finished")
