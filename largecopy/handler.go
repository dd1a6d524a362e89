package largecopy

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// FunctionName is the name the function is deployed under (docs/large-objects.md):
// the local engine runs LambdaInvoke jobs whose FunctionArn names it in
// process.
const FunctionName = "s3batchkit-large-copy"

// IsFunction reports whether a LambdaInvoke FunctionArn names this
// function — arn:…:lambda:REGION:ACCOUNT:function:s3batchkit-large-copy,
// with or without a version or alias —, which the local engine runs in
// process instead of calling Lambda.
func IsFunction(functionARN string) bool {
	parts := strings.Split(functionARN, ":")
	return len(parts) >= 7 && len(parts) <= 8 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" && parts[6] == FunctionName
}

// Limits of multipart uploads and the defaults of Options.
const (
	MinPartSize = 5 << 20 // S3's smallest part but the last
	MaxPartSize = 5 << 30 // S3's largest part
	MaxParts    = 10_000  // S3's most parts in one upload
	MaxObject   = MaxParts * MaxPartSize

	// DefaultPartSize is the part size unless an object needs larger
	// parts to fit in MaxParts: 256 MiB, so that a 5 GiB object is 21
	// parts copied at once and a 1 TiB one 4,096.
	DefaultPartSize = 256 << 20
	// DefaultConcurrency is the number of parts copied at once.
	DefaultConcurrency = 16
	// DefaultReserve is the time kept before the deadline to answer.
	DefaultReserve = 10 * time.Second
)

// Client is the part of the S3 API the copy calls; *s3.Client has it.
// Calls to a source bucket take an extra option when the bucket is in
// another region than the client's.
type Client interface {
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObjectTagging(context.Context, *s3.GetObjectTaggingInput, ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error)
	CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPartCopy(context.Context, *s3.UploadPartCopyInput, ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error)
	CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListMultipartUploads(context.Context, *s3.ListMultipartUploadsInput, ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
	ListParts(context.Context, *s3.ListPartsInput, ...func(*s3.Options)) (*s3.ListPartsOutput, error)
}

var _ Client = (*s3.Client)(nil)

// Options configure a Handler.
type Options struct {
	// Client reaches S3. Required.
	Client Client
	// PartSize is the size of every part but the last: MinPartSize to
	// MaxPartSize. An object that would need more than MaxParts parts
	// gets larger parts. Zero: DefaultPartSize.
	PartSize int64
	// Concurrency is the number of parts copied at once, 1 to 256.
	// Zero: DefaultConcurrency.
	Concurrency int
	// Arguments are the arguments of schema 1.0 events, which carry no
	// UserArguments: the deployed function reads them from its
	// environment (ArgumentsFromEnv). Schema 2.0 events use their own
	// and ignore these.
	Arguments map[string]string
	// Reserve is the time kept before the context's deadline (the Lambda
	// time limit) to answer: when less is left, no more parts are copied
	// and the task ends in TemporaryFailure, which the retry resumes.
	// Zero: DefaultReserve; it never takes more than a tenth of the time
	// left when the invocation starts. Without a deadline it does not
	// apply.
	Reserve time.Duration
	// Logf, when set, is given one line per task (never credentials).
	Logf func(format string, args ...any)
}

// Check reports (as an error wrapping ErrOptions) a PartSize,
// Concurrency or Reserve out of range; zero values, which take the
// defaults, pass. Client is not checked.
func (o Options) Check() error {
	if o.PartSize != 0 && (o.PartSize < MinPartSize || o.PartSize > MaxPartSize) {
		return fmt.Errorf("%w: PartSize %d is not within %d to %d", ErrOptions, o.PartSize, MinPartSize, MaxPartSize)
	}
	if o.Concurrency < 0 || o.Concurrency > 256 {
		return fmt.Errorf("%w: Concurrency %d is not within 1 to 256", ErrOptions, o.Concurrency)
	}
	if o.Reserve < 0 {
		return fmt.Errorf("%w: Reserve %v is negative", ErrOptions, o.Reserve)
	}
	return nil
}

// Handler answers LambdaInvoke events. It is safe for concurrent use.
type Handler struct {
	o       Options
	regions sync.Map // source bucket → region, learnt from redirects
}

// New checks o and returns a Handler.
func New(o Options) (*Handler, error) {
	if o.Client == nil {
		return nil, fmt.Errorf("%w: Client is required", ErrOptions)
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Reserve == 0 {
		o.Reserve = DefaultReserve
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return &Handler{o: o}, nil
}

// Invoke answers one event given as JSON with the response as JSON, as
// the deployed function does (and as the local engine calls it). An event
// that does not parse (ParseEvent) is an error — what Batch Operations
// sees as a function error; every other problem is a task's result. A
// panic is caught and returned as an internal error.
func (h *Handler) Invoke(ctx context.Context, event []byte) (resp []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("largecopy: internal error: panic: %v\n%s", p, debug.Stack())
		}
	}()
	ev, err := ParseEvent(event)
	if err != nil {
		return nil, err
	}
	return json.Marshal(h.Handle(ctx, ev))
}

// Invoke answers one event with a Handler of default Options over client.
func Invoke(ctx context.Context, client Client, event []byte) ([]byte, error) {
	h, err := New(Options{Client: client})
	if err != nil {
		return nil, err
	}
	return h.Invoke(ctx, event)
}

// Handle answers a parsed event: one result per task, in order. Tasks run
// one after the other; a task that cannot start before the deadline's
// reserve ends in TemporaryFailure.
func (h *Handler) Handle(ctx context.Context, ev Event) Response {
	resp := newResponse(ev)
	argm := ev.Job.UserArguments
	if ev.InvocationSchemaVersion == "1.0" {
		argm = h.o.Arguments
	}
	args, argErr := ParseArguments(argm)
	if argErr != nil && ev.InvocationSchemaVersion == "1.0" {
		argErr = fmt.Errorf("%w (schema 1.0 events carry no UserArguments: the function reads them from its environment variables of the same names, or use InvocationSchemaVersion 2.0)", argErr)
	}
	final, work, cancel := h.contexts(ctx)
	defer cancel()
	for _, t := range ev.Tasks {
		start := time.Now()
		r := h.task(final, work, args, argErr, t)
		h.o.Logf("task %s: s3Key %q version %q: %s in %.1fs: %s", t.TaskID, t.S3Key, t.VersionID(), r.ResultCode, time.Since(start).Seconds(), r.ResultString)
		resp.Results = append(resp.Results, r)
	}
	return resp
}

// contexts splits the invocation's time: work (copying parts) ends
// Reserve before ctx's deadline; final (completing or aborting the
// upload) a fifth of the reserve before it, which leaves the rest to
// answer — a function still running at its deadline is killed, and the
// task fails with a function error instead of being retried.
func (h *Handler) contexts(ctx context.Context) (final, work context.Context, cancel context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		work, cancel = context.WithCancel(ctx)
		return ctx, work, cancel
	}
	reserve := min(h.o.Reserve, time.Until(d)/10)
	final, cancelFinal := context.WithDeadline(ctx, d.Add(-reserve/5))
	work, cancelWork := context.WithDeadline(ctx, d.Add(-reserve))
	return final, work, func() { cancelWork(); cancelFinal() }
}

// task runs one task: ctx is the context of its last calls (complete,
// abort), work that of everything before.
func (h *Handler) task(ctx, work context.Context, args *Args, argErr error, t Task) Result {
	res := func(code, msg string) Result { return Result{TaskID: t.TaskID, ResultCode: code, ResultString: msg} }
	bucket, err := t.Bucket()
	if err != nil {
		return res(PermanentFailure, "task "+t.TaskID+": "+err.Error())
	}
	key, err := t.Key()
	if err != nil {
		return res(PermanentFailure, fmt.Sprintf("s3://%s/%s: %v", bucket, t.S3Key, err))
	}
	src := object{bucket: bucket, key: key, version: t.VersionID()}
	if argErr != nil {
		return res(PermanentFailure, fmt.Sprintf("%s was not copied: %v", src, argErr))
	}
	if work.Err() != nil {
		return res(TemporaryFailure, fmt.Sprintf("%s was not copied: the invocation's time ran out before the task started; Batch Operations retries it", src))
	}
	c := &copier{h: h, args: args, src: src, dst: object{bucket: args.Bucket, key: args.Prefix + key}}
	code, msg := c.run(ctx, work)
	return res(code, msg)
}
