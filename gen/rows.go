package gen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// Row is one inventory row in logical form, shared by the CSV, Parquet
// and ORC writers so that the three formats hold the same report. Empty
// strings, a zero LockRetain and SizeNull mean "no value"; an empty
// VersionID is the null version. IsMultipartUploaded is null for delete
// markers.
type Row struct {
	Bucket         string
	Key            string
	VersionID      string
	IsLatest       bool
	IsDeleteMarker bool
	Size           int64
	SizeNull       bool
	LastModified   int64 // ms since epoch, UTC
	ETag           string
	StorageClass   string
	IsMultipart    bool
	Replication    string
	Encryption     string
	LockRetain     int64 // ms since epoch; 0 = none
	LockMode       string
	LegalHold      string
	TieringTier    string
	BucketKey      string
	ChecksumAlgo   string
}

// rowGen produces the rows of one data file deterministically from
// (seed, file index).
type rowGen struct {
	rnd      *rand.Rand
	bucket   string
	file     int
	versions bool
	null     inventory.FieldSet // fields left empty (Options.Null)
	seq      int
	pending  []Row // further versions of the current object
}

func newRowGen(seed uint64, file int, bucket string, versions bool, null inventory.FieldSet) *rowGen {
	return &rowGen{
		rnd:      rand.New(rand.NewPCG(seed, uint64(file)*0x9E3779B97F4A7C15+1)),
		bucket:   bucket,
		file:     file,
		versions: versions,
		null:     null,
	}
}

var (
	topDirs  = []string{"data", "logs", "images", "backups", "exports", "home", "raw", "warehouse", "media", "tmp"}
	subDirs  = []string{"2019", "2020", "2021", "2022", "2023", "2024", "eu-west-1", "us-east-1", "prod", "staging", "archive", "daily", "hourly", "users", "tenants", "part"}
	exts     = []string{".json", ".csv", ".parquet", ".jpg", ".png", ".log.gz", ".txt", ".tar.gz", ".mp4", ".bin", ""}
	tricky   = []string{"my file", "a+b", "100%", "naïve café", "日本語", "emoji 🎉", "comma,here", "quote\"d", "new\nline", "tab\tsep", "semi;colon", "hash#1", "q?x=1&y=2", "~tilde", "(paren)", "[br]", "plus+space +", "%2F literal", "back\\slash", "apostrophe's"}
	classes  = []string{"STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "ONEZONE_IA", "REDUCED_REDUNDANCY", "OUTPOSTS", "SNOW"}
	classCum = []float64{0.70, 0.80, 0.88, 0.92, 0.95, 0.97, 0.985, 0.993, 0.997, 1}
	tiers    = []string{"FREQUENT", "INFREQUENT", "ARCHIVE_INSTANT_ACCESS", "ARCHIVE", "DEEP_ARCHIVE"}
	repl     = []string{"", "", "", "COMPLETED", "PENDING", "FAILED", "REPLICA"}
	encs     = []string{"SSE-S3", "SSE-S3", "SSE-S3", "SSE-KMS", "DSSE-KMS", "SSE-C", "NOT-SSE"}
	algos    = []string{"", "", "CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"}
)

const hexDigits = "0123456789abcdef"

func (g *rowGen) pick(s []string) string { return s[g.rnd.IntN(len(s))] }

// key builds a deep, realistic key; about 3% are tricky.
func (g *rowGen) key() string {
	var b strings.Builder
	b.WriteString(g.pick(topDirs))
	depth := 1 + g.rnd.IntN(6)
	for i := 0; i < depth; i++ {
		b.WriteByte('/')
		if g.rnd.IntN(3) == 0 {
			fmt.Fprintf(&b, "%02d", 1+g.rnd.IntN(28))
		} else {
			b.WriteString(g.pick(subDirs))
		}
	}
	b.WriteByte('/')
	if g.rnd.IntN(33) == 0 {
		b.WriteString(g.pick(tricky))
		b.WriteByte('-')
	} else {
		b.WriteString("obj-")
	}
	fmt.Fprintf(&b, "%d-%d", g.file, g.seq)
	b.WriteString(g.pick(exts))
	return b.String()
}

// size draws a log-normal size: median about 64 KiB, a long tail of GiB
// objects, a few empty ones and a few over 5 GiB.
func (g *rowGen) size() int64 {
	switch g.rnd.IntN(1000) {
	case 0:
		return 5<<30 + g.rnd.Int64N(20<<30)
	case 1, 2, 3, 4, 5:
		return 0
	}
	v := math.Exp(11 + 2.2*g.rnd.NormFloat64())
	if v > 4<<40 {
		v = 4 << 40
	}
	return int64(v)
}

func (g *rowGen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[g.rnd.IntN(16)]
	}
	return string(b)
}

func (g *rowGen) versionID() string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"
	b := make([]byte, 32)
	for i := range b {
		b[i] = alpha[g.rnd.IntN(len(alpha))]
	}
	return string(b)
}

// next fills r with the next row.
func (g *rowGen) next(r *Row) {
	if len(g.pending) > 0 {
		*r = g.pending[0]
		g.pending = g.pending[1:]
		return
	}
	g.seq++
	*r = Row{Bucket: g.bucket, Key: g.key()}
	r.Size = g.size()
	r.LastModified = 1_577_836_800_000 + g.rnd.Int64N(5*365*86_400_000) // 2020..2025
	r.IsMultipart = r.Size > 16<<20 && g.rnd.IntN(2) == 0
	if r.IsMultipart {
		r.ETag = g.hex(32) + fmt.Sprintf("-%d", 2+r.Size/(64<<20))
	} else {
		r.ETag = g.hex(32)
	}
	u := g.rnd.Float64()
	for i, c := range classCum {
		if u < c {
			r.StorageClass = classes[i]
			break
		}
	}
	if r.StorageClass == "INTELLIGENT_TIERING" {
		r.TieringTier = g.pick(tiers)
	}
	r.Replication = g.pick(repl)
	r.Encryption = g.pick(encs)
	if r.Encryption == "SSE-KMS" {
		r.BucketKey = "ENABLED"
	} else {
		r.BucketKey = "DISABLED"
	}
	r.ChecksumAlgo = g.pick(algos)
	if g.rnd.IntN(50) == 0 {
		r.LockMode = []string{"GOVERNANCE", "COMPLIANCE"}[g.rnd.IntN(2)]
		r.LockRetain = r.LastModified + g.rnd.Int64N(3*365*86_400_000)
	}
	if g.rnd.IntN(100) == 0 {
		r.LegalHold = "ON"
	} else {
		r.LegalHold = "OFF"
	}
	if !g.versions {
		g.clear(r)
		return
	}
	r.IsLatest = true
	if g.rnd.IntN(20) == 0 {
		r.VersionID = "" // object written before versioning: the null version
	} else {
		r.VersionID = g.versionID()
	}
	// Some objects have older versions, and some current versions are
	// delete markers.
	older := 0
	if g.rnd.IntN(5) == 0 {
		older = 1 + g.rnd.IntN(3)
	}
	if older > 0 && g.rnd.IntN(4) == 0 {
		cur := *r
		*r = Row{Bucket: cur.Bucket, Key: cur.Key, VersionID: g.versionID(), IsLatest: true, IsDeleteMarker: true,
			SizeNull: true, LastModified: cur.LastModified + 86_400_000, StorageClass: "", LegalHold: ""}
		cur.IsLatest = false
		g.pending = append(g.pending, cur)
		older--
	}
	base := r.LastModified
	for i := 0; i < older; i++ {
		v := *r
		if v.IsDeleteMarker {
			v = g.pending[0]
		}
		v.IsLatest, v.IsDeleteMarker, v.SizeNull = false, false, false
		v.VersionID = g.versionID()
		v.Size = g.size()
		v.ETag = g.hex(32)
		base -= 1 + g.rnd.Int64N(90*86_400_000)
		v.LastModified = base
		g.pending = append(g.pending, v)
	}
	g.clear(r)
	for i := range g.pending {
		g.clear(&g.pending[i])
	}
}

// nullable are the fields Options.Null may name.
var nullable = inventory.Fields(inventory.Size, inventory.ETag, inventory.StorageClass, inventory.ReplicationStatus,
	inventory.EncryptionStatus, inventory.ObjectLockRetainUntilDate, inventory.ObjectLockMode,
	inventory.ObjectLockLegalHoldStatus, inventory.IntelligentTieringAccessTier, inventory.BucketKeyStatus,
	inventory.ChecksumAlgorithm)

// clear empties the fields of g.null in r, after the random draws, so
// that the other values do not change.
func (g *rowGen) clear(r *Row) {
	if g.null == 0 {
		return
	}
	for _, f := range g.null.List() {
		switch f {
		case inventory.Size:
			r.Size, r.SizeNull = 0, true
		case inventory.ETag:
			r.ETag = ""
		case inventory.StorageClass:
			r.StorageClass = ""
		case inventory.ReplicationStatus:
			r.Replication = ""
		case inventory.EncryptionStatus:
			r.Encryption = ""
		case inventory.ObjectLockRetainUntilDate:
			r.LockRetain = 0
		case inventory.ObjectLockMode:
			r.LockMode = ""
		case inventory.ObjectLockLegalHoldStatus:
			r.LegalHold = ""
		case inventory.IntelligentTieringAccessTier:
			r.TieringTier = ""
		case inventory.BucketKeyStatus:
			r.BucketKey = ""
		case inventory.ChecksumAlgorithm:
			r.ChecksumAlgo = ""
		}
	}
}
