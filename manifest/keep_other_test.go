//go:build !amd64 || purego

package manifest

// forcePureGo returns nil: this build has only the pure-Go path.
func forcePureGo() (restore func()) { return nil }
