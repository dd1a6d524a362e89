package manifest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
)

// TestPlanDirS3 commits a plan to an s3:// prefix twice: shards land with
// ETag = MD5 (one PUT), plan.json comes last, and the second, smaller plan
// removes the first plan's extra shard.
func TestPlanDirS3(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	dir := "s3://" + bucket + "/plans/p1"
	write := func(shards int) *Plan {
		pd, err := CreatePlanDir(oc, dir)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < shards; i++ {
			w, err := pd.NewShard("copy", "src", false)
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < 3; k++ {
				if err := w.Add([]byte("src"), []byte(fmt.Sprintf("shard %d/key+%d", i, k)), nil, 1); err != nil {
					t.Fatal(err)
				}
			}
		}
		p := &Plan{Counters: Counters{Dropped: map[string]int64{}}}
		if err := pd.Commit(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(2)
	foreign := dir + "/shards/README.txt"
	if err := oc.WriteFileAtomic(ctx, foreign, []byte("mine")); err != nil {
		t.Fatal(err)
	}
	p := write(1)
	got, err := ReadPlan(ctx, oc, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Shards) != 1 || got.Shards[0].MD5 != p.Shards[0].MD5 {
		t.Fatalf("plan.json read back: %+v", got.Shards)
	}
	st, err := oc.Stat(ctx, dir+"/shards/copy/00000.csv")
	if err != nil {
		t.Fatal(err)
	}
	if st.ETag != p.Shards[0].MD5 {
		t.Errorf("shard ETag %s, want its MD5 %s", st.ETag, p.Shards[0].MD5)
	}
	if ok, _ := oc.Exists(ctx, dir+"/shards/copy/00001.csv"); ok {
		t.Error("the first plan's second shard was left behind")
	}
	if ok, _ := oc.Exists(ctx, foreign); !ok {
		t.Error("an object under shards/ that no plan wrote was removed")
	}
	// A submitted plan is not written over.
	if err := WriteRun(ctx, oc, dir, &Run{PlanID: "p1", Jobs: []RunJob{{Shard: "shards/copy/00000.csv", JobID: "j", ReportPrefix: "s3://r"}}}); err != nil {
		t.Fatal(err)
	}
	pd, err := CreatePlanDir(oc, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Abort()
	if err := pd.Commit(ctx, &Plan{}); !errors.Is(err, ErrSubmitted) {
		t.Errorf("Commit over a submitted plan in S3: %v", err)
	}
}
