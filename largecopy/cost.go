package largecopy

import "math"

// The cost of the large route's Lambda invocations, for plan --dry-run.
// Batch Operations invokes the function once per object (more when a copy
// outlasts one invocation: each retry is another), and Lambda bills
// requests and GB-seconds — the billed duration times the memory size.
// The duration is the copy's: UploadPartCopy moves the bytes inside S3,
// at a throughput this package does not know; the default below is an
// assumption (UNCONFIRMED: not measured on AWS), to be replaced by a
// measured figure. S3's own request charges (one UploadPartCopy per part)
// are not included.
const (
	// DefaultMemoryMB is the function's memory size the docs recommend:
	// the copy holds no object data, so little is needed.
	DefaultMemoryMB = 512
	// DefaultCopyMBps is the assumed throughput of one object's copy,
	// all its parts together, in MB (10^6 bytes) per second.
	DefaultCopyMBps = 200
	// DefaultOverheadSeconds is the assumed time an invocation spends
	// besides the parts: reading the source's metadata and tags, looking
	// for an earlier upload, starting and completing one.
	DefaultOverheadSeconds = 1.0
	// DefaultPricePerGBSecond and DefaultPricePerMillionRequests are
	// Lambda's prices for arm64 in us-east-1, first tier (AWS price
	// list, not sourced in docs/formats.md#pricing: pass the region's).
	DefaultPricePerGBSecond        = 0.0000133334
	DefaultPricePerMillionRequests = 0.20
	// MaxInvocationSeconds is Lambda's longest timeout.
	MaxInvocationSeconds = 900
)

// CostAssumptions are the figures a cost estimate rests on. Zero values
// mean the defaults above.
type CostAssumptions struct {
	MemoryMB                int     `json:"memory_mb"`
	CopyMBps                float64 `json:"copy_mb_per_second"`
	OverheadSeconds         float64 `json:"overhead_seconds_per_object"`
	PricePerGBSecond        float64 `json:"usd_per_gb_second"`
	PricePerMillionRequests float64 `json:"usd_per_million_requests"`
}

// WithDefaults returns a with its zero fields set to the defaults.
func (a CostAssumptions) WithDefaults() CostAssumptions {
	if a.MemoryMB == 0 {
		a.MemoryMB = DefaultMemoryMB
	}
	if a.CopyMBps == 0 {
		a.CopyMBps = DefaultCopyMBps
	}
	if a.OverheadSeconds == 0 {
		a.OverheadSeconds = DefaultOverheadSeconds
	}
	if a.PricePerGBSecond == 0 {
		a.PricePerGBSecond = DefaultPricePerGBSecond
	}
	if a.PricePerMillionRequests == 0 {
		a.PricePerMillionRequests = DefaultPricePerMillionRequests
	}
	return a
}

// Cost is the estimated Lambda charge of copying a set of objects.
type Cost struct {
	// Invocations: one per object, or more when the copying time does
	// not fit in that many invocations of at most MaxInvocationSeconds
	// (less the reserve) — a lower bound, as the sizes of single objects
	// are not known here.
	Invocations int64           `json:"invocations"`
	Seconds     float64         `json:"seconds"` // billed duration, all invocations
	GBSeconds   float64         `json:"gb_seconds"`
	USD         float64         `json:"estimated_usd"`
	Assumptions CostAssumptions `json:"assumptions"`
}

// EstimateCost estimates the Lambda charge of copying objects objects of
// bytes bytes in all.
func EstimateCost(objects, bytes int64, a CostAssumptions) Cost {
	a = a.WithDefaults()
	copySeconds := float64(bytes) / (a.CopyMBps * 1e6)
	usable := MaxInvocationSeconds - DefaultReserve.Seconds() - a.OverheadSeconds
	c := Cost{Assumptions: a, Invocations: max(objects, int64(math.Ceil(copySeconds/usable)))}
	if objects == 0 {
		c.Invocations = 0
	}
	c.Seconds = copySeconds + float64(c.Invocations)*a.OverheadSeconds
	c.GBSeconds = c.Seconds * float64(a.MemoryMB) / 1024
	c.USD = c.GBSeconds*a.PricePerGBSecond + float64(c.Invocations)/1e6*a.PricePerMillionRequests
	return c
}
