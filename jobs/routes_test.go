package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/partition"
)

// TestRouteNames: the route names ServesRoute knows are partition's.
func TestRouteNames(t *testing.T) {
	for _, p := range [][2]string{
		{jobs.RouteCopy, partition.RouteCopy}, {jobs.RouteLarge, partition.RouteLarge}, {jobs.RouteRestore, partition.RouteRestore},
		{jobs.RouteRestoreTiering, partition.RouteRestoreTiering}, {jobs.RouteAll, partition.RouteAll}, {jobs.RouteDelete, partition.RouteDelete},
	} {
		if p[0] != p[1] {
			t.Errorf("route %q here, %q in partition", p[0], p[1])
		}
	}
}

func TestServesRoute(t *testing.T) {
	const (
		copyOp      = copyOpJSON
		restoreDays = `{"S3InitiateRestoreObject": {"ExpirationInDays": 7, "GlacierJobTier": "BULK"}}`
		restoreTier = `{"S3InitiateRestoreObject": {"GlacierJobTier": "BULK"}}`
		lambda      = `{"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}}`
		checksum    = `{"S3ComputeObjectChecksum": {"ChecksumAlgorithm": "CRC32"}}`
	)
	routes := []string{"copy", "large", "restore", "restore-tiering", "all", "delete", "custom"}
	for _, tc := range []struct {
		op   string
		want map[string]string // route → substring of the reason; absent: served
	}{
		{copyOp, map[string]string{"large": "over 5 GB", "restore": "archived", "restore-tiering": "archived", "delete": "deleted"}},
		{restoreDays, map[string]string{"copy": "not archived", "large": "not archived", "delete": "not archived", "restore-tiering": "must omit ExpirationInDays"}},
		{restoreTier, map[string]string{"copy": "not archived", "large": "not archived", "delete": "not archived", "restore": "need ExpirationInDays"}},
		{lambda, nil},
		{tagOpJSON, nil},
		{checksum, nil},
		{`{"S3PutObjectLegalHold": {"LegalHold": {"Status": "ON"}}}`, nil},
	} {
		op, name, err := jobs.ParseOperation([]byte(tc.op))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range routes {
			err := jobs.ServesRoute(op, r)
			want, refused := tc.want[r]
			var re *jobs.RouteError
			switch {
			case !refused && err != nil:
				t.Errorf("%s on %s: %v, want served", name, r, err)
			case refused && (!errors.As(err, &re) || !errors.Is(err, jobs.ErrInvalid) || !strings.Contains(re.Reason, want) || re.Route != r):
				t.Errorf("%s on %s: %v, want a RouteError saying %q", name, r, err, want)
			}
		}
	}
}

// TestSubmitRoutesPerOperation: without routes, submit picks the routes
// the operation serves and lists the others; routes it cannot serve are
// refused before any call.
func TestSubmitRoutesPerOperation(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 2, "large": 1, "restore": 1}, 3)
	srv, cl, store := newControl(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		op      string
		routes  []string
		created int
		skipped string // routes skipped, comma-separated
		err     string
	}{
		{"copy refused on large", copyOpJSON, []string{"copy", "large"}, 0, "", "cannot serve route large"},
		{"restore needs days", `{"S3InitiateRestoreObject": {}}`, []string{"restore"}, 0, "", "need ExpirationInDays"},
		{"restore of copy objects", `{"S3InitiateRestoreObject": {"ExpirationInDays": 3}}`, []string{"copy"}, 0, "", "not archived"},
		{"copy picks copy", copyOpJSON, nil, 2, "large,restore", ""},
		{"restore picks restore", `{"S3InitiateRestoreObject": {"ExpirationInDays": 3}}`, nil, 1, "copy,large", ""},
		{"tiering restore serves none", `{"S3InitiateRestoreObject": {}}`, nil, 0, "", "serves no route of the plan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Calls("CreateJob")
			o := submitOp(t, plan, cl, store, tc.op)
			o.Routes = tc.routes
			res, err := jobs.Submit(ctx, o)
			if tc.err != "" {
				if !errors.Is(err, jobs.ErrInvalid) || !strings.Contains(err.Error(), tc.err) || srv.Calls("CreateJob") != before {
					t.Fatalf("err = %v after %d calls; want ErrInvalid saying %q, no call", err, srv.Calls("CreateJob")-before, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var skipped []string
			for _, s := range res.Skipped {
				skipped = append(skipped, s.Route)
				if s.Reason == "" || s.Shards < 1 || s.Objects != 3*int64(s.Shards) {
					t.Errorf("skipped %+v", s)
				}
			}
			if res.Created != tc.created || strings.Join(skipped, ",") != tc.skipped {
				t.Errorf("created %d, skipped %v; want %d, %s", res.Created, skipped, tc.created, tc.skipped)
			}
		})
	}
}
