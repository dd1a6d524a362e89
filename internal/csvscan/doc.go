// Package csvscan splits RFC 4180 CSV records into fields. It is the one
// place where s3batchkit splits a CSV line: the S3 Inventory CSV.gz reader
// (inventory), the completion-report result reader and the failure
// classes file (report), the Batch Operations manifest reader (manifest,
// and through it the local engine) and the benchmark harness's reader of
// DuckDB's output (bench) all call it, and keep their own rules on top
// (field counts, column roles, value decoding). Writing CSV is not its
// business.
//
// The grammar: fields are separated by ',' and records by "\n" or "\r\n".
// A field is either quoted — it starts with '"', ends with the next '"'
// that is not doubled, and may hold ',', '"' written as "", and line
// breaks — or unquoted: everything up to the next ',' or line end. A '"'
// inside an unquoted field is an error (ErrBareQuote) unless
// Options.LazyQuotes keeps it as a character; anything but ',' or a line
// end after a closing quote is an error (ErrAfterQuote), and so is a
// quoted field the input ends inside (ErrUnterminated). Between records,
// blank lines (runs of '\r' and '\n') are skipped. Splitter.SplitLine splits a
// line cut by the caller, where '\r' and '\n' are plain characters.
//
// Nothing is copied: a record is a list of Field bounds into the caller's
// buffer. A quoted field's bounds exclude its quotes; when it holds
// doubled quotes (Field.Escaped), the caller undoes them, in place
// (Field.Unescape) or into a buffer of its own (Field.AppendValue).
//
// Input comes in blocks. Splitter.Next splits the record at a position of
// the caller's buffer and says when the buffer ends inside it; the caller
// then keeps the bytes from that position on, appends more input and calls
// again. Reader does this over an io.Reader, with one buffer that grows up
// to a limit.
//
// The fast paths handle the two shapes real files have, on lines found
// with one vectorised search for the line feed: every field quoted without
// escapes (S3 Inventory CSV), whose quotes are mapped to the bits of one
// 64-bit word per 64 bytes, eight bytes at a time (SWAR), and walked as
// separators; and no quote at all (result files, manifests), checked with
// one search for '"' and split at the commas found eight bytes at a time.
// Any other line goes through a byte-wise path that also names the error.
// Splitting allocates nothing once a Splitter's field table has grown to
// the widest record.
//
// Errors are *SyntaxError values with the line, byte offset, column and
// what was expected; they unwrap to ErrSyntax and to the precise sentinel.
package csvscan
