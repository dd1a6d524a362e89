package largecopy

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
)

// TestReportRows runs tasks the way the local engine will — the event it
// builds for a manifest line, Invoke, Outcome — and writes the
// completion-report rows as AWS writes them for a LambdaInvoke job.
func TestReportRows(t *testing.T) {
	ep := endpoint(t)
	cl := newClient(t, ep, nil, 3)
	srcB, dstB := newBucket(t, cl, "src"), newBucket(t, cl, "dst")
	put(t, cl, srcB, "a b.bin", source{body: payload(1234, 1)})
	lines := [][2]string{{srcB, "a%20b.bin"}, {srcB, "gone.bin"}}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for i, l := range lines {
		taskID := "task-" + string(rune('0'+i))
		ev := Event{InvocationSchemaVersion: "2.0", InvocationID: "inv", Job: Job{ID: "job", UserArguments: map[string]string{"TargetResource": "arn:aws:s3:::" + dstB}},
			Tasks: []Task{{TaskID: taskID, S3Key: l[1], S3Bucket: l[0]}}}
		body, _ := jsonMarshal(ev)
		out, err := Invoke(context.Background(), cl, body)
		row := Outcome(out, err, taskID)
		w.Write(row.Fields(l[0], l[1], ""))
	}
	w.Flush()
	got := strings.ReplaceAll(strings.ReplaceAll(buf.String(), srcB, "SRC"), dstB, "DST")
	want := `SRC,a%20b.bin,,succeeded,200,,"Copied to s3://DST/a b.bin: 1234 bytes in 1 part of 268435456 bytes (0 resumed), ETag ""` + etagOf(t, cl, dstB, "a b.bin") + `"""` + "\n" +
		`SRC,gone.bin,,failed,200,PermanentFailure,copy of s3://SRC/gone.bin to s3://DST/gone.bin failed: reading the source (HeadObject): NoSuchKey (HTTP 404) — the source object does not exist (deleted since the manifest was written?)` + "\n"
	if got != want {
		t.Errorf("report rows:\n%s\nwant:\n%s", got, want)
	}
}
