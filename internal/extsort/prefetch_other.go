//go:build !amd64 || purego

package extsort

// prefetch does nothing here: it is a hint (see prefetch_amd64.go).
func prefetch(*byte) {}
