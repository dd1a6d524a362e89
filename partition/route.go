package partition

import "bytes"

// Routes, in the order plan.json lists them.
const (
	// RouteCopy holds objects a single CopyObject can copy (≤ 5 GiB, not
	// archived).
	RouteCopy = "copy"
	// RouteLarge holds objects over MaxCopyBytes: Batch Operations'
	// S3PutObjectCopy fails them, so they need a multipart copy (for
	// example through LambdaInvoke).
	RouteLarge = "large"
	// RouteRestore holds GLACIER and DEEP_ARCHIVE objects, which must be
	// restored (S3InitiateRestoreObject) before they can be copied.
	RouteRestore = "restore"
	// RouteRestoreTiering holds INTELLIGENT_TIERING objects in the ARCHIVE
	// or DEEP_ARCHIVE access tiers. A restore job cannot mix them with
	// GLACIER objects (ExpirationInDays must be omitted for them), hence a
	// route of their own.
	RouteRestoreTiering = "restore-tiering"
	// RouteAll holds every object when routing is off (Options.NoRoutes).
	RouteAll = "all"
	// RouteDelete holds objects to delete: diff's objects that exist only
	// at the target. Batch Operations has no delete operation, so such a
	// shard runs only through LambdaInvoke or the local engine, and only
	// when the user submits it.
	RouteDelete = "delete"
)

// MaxCopyBytes is the largest object S3PutObjectCopy copies: 5 GiB, the
// "maximum allowable size for a copy source: 5368709120".
const MaxCopyBytes = 5 << 30

var routeOrder = []string{RouteCopy, RouteLarge, RouteRestore, RouteRestoreTiering, RouteAll, RouteDelete}

// routeAll and routeDelete are RouteAll's and RouteDelete's indexes in
// routeOrder; numRoutes its length.
const (
	routeAll    = 4
	routeDelete = 5
	numRoutes   = 6
)

// Route decides an object's route from its size, storage class and
// intelligent-tiering access tier (upper-case, as the reader normalises
// them; empty when the report lacks the field). Archived objects go to a
// restore route whatever their size, since a restore comes first.
func Route(size int64, storageClass, tier []byte) int {
	switch {
	case bytes.Equal(storageClass, []byte("GLACIER")), bytes.Equal(storageClass, []byte("DEEP_ARCHIVE")):
		return 2
	case bytes.Equal(storageClass, []byte("INTELLIGENT_TIERING")) &&
		(bytes.Equal(tier, []byte("ARCHIVE")) || bytes.Equal(tier, []byte("DEEP_ARCHIVE"))):
		return 3
	case size > MaxCopyBytes:
		return 1
	}
	return 0
}
