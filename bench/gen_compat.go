package bench

import (
	"context"

	"github.com/s3batchkit/s3batchkit/gen"
)

// GenOptions is gen.Options, under its name from before the generator
// moved to package gen, for callers not moved yet (the tests of package
// partition).
//
// Deprecated: use gen.Options.
type GenOptions = gen.Options

// Generate is gen.Generate, for callers not moved yet.
//
// Deprecated: use gen.Generate.
func Generate(ctx context.Context, o gen.Options) (*gen.Result, error) { return gen.Generate(ctx, o) }
