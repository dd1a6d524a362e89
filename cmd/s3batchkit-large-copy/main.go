// Command s3batchkit-large-copy is the S3 Batch Operations Lambda function
// that copies objects over 5 GiB (the plan's large route) with multipart
// UploadPartCopy; the work is package largecopy's. `make lambda` builds
// it as bootstrap for the provided.al2023 runtime and zips it;
// docs/large-objects.md shows how to deploy it.
//
// Environment (all optional):
//
//	S3BATCHKIT_PART_SIZE    part size in bytes, 5 MiB to 5 GiB (default 256 MiB)
//	S3BATCHKIT_CONCURRENCY  parts copied at once, 1 to 256 (default 16)
//	TargetResource, TargetKeyPrefix, StorageClass, …
//	                        the arguments of invocation schema 1.0 jobs,
//	                        which carry no UserArguments (same names)
//	AWS_MAX_ATTEMPTS        attempts per S3 call (default here: 8)
package main

import (
	"context"
	"encoding/json"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3batchkit/s3batchkit/largecopy"
)

func main() {
	log.SetFlags(0)
	h, err := newHandler(context.Background(), os.LookupEnv)
	if err != nil {
		log.Fatalf("s3batchkit-large-copy: %v", err)
	}
	lambda.Start(func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		return h.Invoke(ctx, event)
	})
}

// newHandler configures the handler from the environment.
func newHandler(ctx context.Context, lookup func(string) (string, bool)) (*largecopy.Handler, error) {
	var opts []func(*config.LoadOptions) error
	if _, ok := lookup("AWS_MAX_ATTEMPTS"); !ok {
		opts = append(opts, config.WithRetryMaxAttempts(8))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, err
	}
	o, err := largecopy.EnvOptions(lookup)
	if err != nil {
		return nil, err
	}
	o.Client, o.Logf = s3.NewFromConfig(cfg), log.Printf
	return largecopy.New(o)
}
