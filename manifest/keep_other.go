//go:build !amd64 || purego

package manifest

// keptPrefix returns the length of the run of kept bytes (keepByte) that s
// starts with: len(s) when every byte is kept. This build has no assembly
// for it.
func keptPrefix(s []byte) int {
	return keptPrefixGeneric(s)
}
