package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// goldenSpecs are the specs whose outputs are kept in testdata/golden:
// a direct run with every option, a shuffle run with the defaults but a
// few, and arguments that a shell would have mangled.
func goldenSpecs() map[string]Spec {
	return map[string]Spec{
		"direct": {
			Image:  "123456789012.dkr.ecr.eu-west-1.amazonaws.com/s3batchkit:v1.4.0",
			Name:   "photos-2024",
			Root:   "s3://plans/runs/photos-2024/",
			Ranges: 4,
			PlanArgs: []string{
				"--inventory=s3://inventory-bucket/inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json",
				"--prefix=photos 2024/",
				"--suffix=it's \"quoted\" $HOME`x`",
				`--where=key matches "^a b" and size >= bytes("1MiB") && storage_class != "GLACIER"`,
				"--latest-only=true",
				"--memory=2GiB",
				"--max-objects=250000",
			},
			GlobalArgs:     []string{"--region=eu-west-1"},
			SortMemory:     2 << 30,
			Attempts:       4,
			AttemptTimeout: 2 * time.Hour,
			AWS:            AWSOptions{JobQueue: "s3batchkit-spot", JobRoleARN: "arn:aws:iam::123456789012:role/s3batchkit-plan"},
			Kubernetes:     K8sOptions{Namespace: "batch", ServiceAccount: "s3batchkit-plan", Parallelism: 2},
		},
		"shuffle": {
			Image:    "registry.example.com/s3batchkit:latest",
			Root:     "s3://plans/run-7",
			Ranges:   32,
			Slices:   8,
			PlanArgs: []string{"--inventory=s3://inventory-bucket/inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json", "--routing=none"},
			AWS:      AWSOptions{JobQueue: "arn:aws:batch:us-east-1:123456789012:job-queue/plans"},
		},
	}
}

func TestGolden(t *testing.T) {
	for name, spec := range goldenSpecs() {
		for _, out := range []struct {
			ext string
			fn  func(Spec) ([]byte, error)
		}{{"aws-batch.json", AWSBatch}, {"k8s.yaml", Kubernetes}} {
			t.Run(name+"."+out.ext, func(t *testing.T) {
				got, err := out.fn(spec)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", "golden", name+"."+out.ext)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./deploy -run TestGolden -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the output (go test ./deploy -run TestGolden -update, then read the diff):\n%s", path, got)
				}
			})
		}
	}
}

// TestBatchDocument checks what the definitions say, field by field:
// the order of the steps, the array sizes, the dependencies, the retry
// rules and the commands as vectors.
func TestBatchDocument(t *testing.T) {
	for name, spec := range goldenSpecs() {
		t.Run(name, func(t *testing.T) {
			doc, err := BatchDefinitions(spec)
			if err != nil {
				t.Fatal(err)
			}
			s := spec.WithDefaults()
			steps := []string{StepWorkers, StepMerge}
			if spec.Slices > 0 {
				steps = append([]string{StepScatter}, steps...)
			}
			if len(doc.SubmitJobs) != len(steps) || len(doc.RegisterJobDefinitions) != len(steps) {
				t.Fatalf("%d jobs and %d definitions, want %d", len(doc.SubmitJobs), len(doc.RegisterJobDefinitions), len(steps))
			}
			prev := ""
			for i, step := range steps {
				job, def := doc.SubmitJobs[i], doc.RegisterJobDefinitions[i]
				if job.JobName != s.Name+"-"+step || job.JobDefinition != def.JobDefinitionName || job.JobQueue != spec.AWS.JobQueue {
					t.Errorf("step %s: job %+v, definition %s", step, job, def.JobDefinitionName)
				}
				wantSize := map[string]int{StepScatter: spec.Slices, StepWorkers: spec.Ranges}[step]
				if (job.ArrayProperties == nil && wantSize != 0) || (job.ArrayProperties != nil && job.ArrayProperties.Size != wantSize) {
					t.Errorf("step %s: arrayProperties %+v, want size %d", step, job.ArrayProperties, wantSize)
				}
				var deps []string
				for _, d := range job.DependsOn {
					deps = append(deps, d.JobID)
				}
				if prev == "" && deps != nil || prev != "" && !reflect.DeepEqual(deps, []string{prev}) {
					t.Errorf("step %s depends on %v, want %q", step, deps, prev)
				}
				prev = job.JobName
				rs := def.RetryStrategy
				if rs.Attempts != s.Attempts || !reflect.DeepEqual(rs.EvaluateOnExit, BatchRetryRules) {
					t.Errorf("step %s: retryStrategy %+v", step, rs)
				}
				wantCmd := map[string][]string{StepScatter: s.ScatterArgs(), StepWorkers: s.WorkerArgs(), StepMerge: s.MergeArgs()}[step]
				if !reflect.DeepEqual(def.ContainerProperties.Command, wantCmd) {
					t.Errorf("step %s: command %q, want %q", step, def.ContainerProperties.Command, wantCmd)
				}
			}
			// The first rule that matches decides: exit 1 retries, any other
			// code ends the job.
			rules := BatchRetryRules
			if rules[0] != (BatchEvaluateExit{OnExitCode: "1", Action: "RETRY"}) || rules[len(rules)-1].Action != "EXIT" || rules[len(rules)-1].OnReason != "*" {
				t.Errorf("retry rules %+v", rules)
			}
		})
	}
}

// TestDefinitionsShareNothing: editing one output changes no other, nor
// the package's rules.
func TestDefinitionsShareNothing(t *testing.T) {
	s := goldenSpecs()["shuffle"]
	d, err := BatchDefinitions(s)
	if err != nil {
		t.Fatal(err)
	}
	d.RegisterJobDefinitions[0].RetryStrategy.EvaluateOnExit[0].Action = "EXIT"
	if BatchRetryRules[0].Action != "RETRY" || d.RegisterJobDefinitions[1].RetryStrategy.EvaluateOnExit[0].Action != "RETRY" {
		t.Error("the definitions share their retry rules")
	}
	jobs, err := K8sJobs(s)
	if err != nil {
		t.Fatal(err)
	}
	jobs[0].Spec.Template.Metadata.Labels["x"] = "y"
	if _, ok := jobs[0].Metadata.Labels["x"]; ok {
		t.Error("a Job and its pods share their labels")
	}
}

// TestBatchArrayOfOne: AWS Batch has no array of one; a step of one is a
// plain job told its index.
func TestBatchArrayOfOne(t *testing.T) {
	s := Spec{Image: "i", Root: "s3://b/r", Ranges: 1, Slices: 1, AWS: AWSOptions{JobQueue: "q"}}
	d, err := BatchDefinitions(s)
	if err != nil {
		t.Fatal(err)
	}
	s = s.WithDefaults()
	for i, want := range [][]string{append(s.ScatterArgs(), "--slice=0"), append(s.WorkerArgs(), "--range=0"), s.MergeArgs()} {
		if got := d.RegisterJobDefinitions[i].ContainerProperties.Command; !reflect.DeepEqual(got, want) {
			t.Errorf("step %d: command %q, want %q", i, got, want)
		}
		if d.SubmitJobs[i].ArrayProperties != nil {
			t.Errorf("step %d: an array of %d", i, d.SubmitJobs[i].ArrayProperties.Size)
		}
	}
	if !reflect.DeepEqual(d.SubmitJobs[2].DependsOn, []BatchJobDependency{{JobID: s.JobName(StepWorkers)}}) {
		t.Errorf("merge depends on %v", d.SubmitJobs[2].DependsOn)
	}
}

func TestArgs(t *testing.T) {
	s := Spec{Image: "i", Root: "s3://b/run/", Ranges: 2, PlanArgs: []string{"--inventory=s3://i/m.json", "--prefix=a b"},
		GlobalArgs: []string{"--endpoint-url=http://127.0.0.1:9000"}}.WithDefaults()
	d := Spec{Image: "i", Root: "s3://b/run/", Ranges: 2, Command: CommandDiff,
		PlanArgs: []string{"--source=s3://i/a.json", "--target=s3://i/b.json"}}.WithDefaults()
	tests := []struct {
		got, want []string
	}{
		{s.WorkerArgs(), []string{"--endpoint-url=http://127.0.0.1:9000", "plan", "--inventory=s3://i/m.json", "--prefix=a b", "--ranges=s3://b/run/ranges.json"}},
		{s.ScatterArgs(), []string{"--endpoint-url=http://127.0.0.1:9000", "plan", "scatter", "--ranges=s3://b/run/ranges.json"}},
		{s.MergeArgs(), []string{"--endpoint-url=http://127.0.0.1:9000", "plan", "merge", "--ranges=s3://b/run/ranges.json"}},
		{d.WorkerArgs(), []string{"diff", "--source=s3://i/a.json", "--target=s3://i/b.json", "--ranges=s3://b/run/ranges.json"}},
		{d.ScatterArgs(), []string{"plan", "scatter", "--ranges=s3://b/run/ranges.json"}},
		{d.MergeArgs(), []string{"diff", "merge", "--ranges=s3://b/run/ranges.json"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestWorkerMemoryMiB(t *testing.T) {
	for _, tt := range []struct {
		sort int64
		want int
	}{
		{0, 1024}, // 512 MiB default: 704 + 256 = 960, rounded up
		{512 << 20, 1024},
		{16 << 20, 512}, // 208 + 256 = 464
		{2 << 30, 2816}, // 2240 + 560 = 2800
		{4 << 30, 5376}, // 4288 + 1072 = 5360
	} {
		if got := WorkerMemoryMiB(tt.sort); got != tt.want {
			t.Errorf("WorkerMemoryMiB(%d) = %d, want %d", tt.sort, got, tt.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	s := Spec{Root: "s3://plans/run-7/"}.WithDefaults()
	if s.Root != "s3://plans/run-7" || !strings.HasPrefix(s.Name, "s3batchkit-") || len(s.Name) != len("s3batchkit-")+8 {
		t.Errorf("root %q, name %q", s.Root, s.Name)
	}
	if again := (Spec{Root: "s3://plans/run-7"}).WithDefaults(); again.Name != s.Name {
		t.Errorf("name %q for the same root without a slash, want %q", again.Name, s.Name)
	}
	if other := (Spec{Root: "s3://plans/run-8"}).WithDefaults(); other.Name == s.Name {
		t.Errorf("two roots, one name %q", s.Name)
	}
	if s.Worker != (Resources{DefaultVCPUs, 1024}) || s.Merge != (Resources{DefaultMergeVCPUs, DefaultMergeMemoryMiB}) || s.Attempts != DefaultAttempts {
		t.Errorf("defaults %+v %+v %d", s.Worker, s.Merge, s.Attempts)
	}
}

func TestSpecErrors(t *testing.T) {
	ok := Spec{Image: "img:1", Root: "s3://b/r", Ranges: 4, AWS: AWSOptions{JobQueue: "q"}}
	tests := []struct {
		name  string
		edit  func(*Spec)
		field string
		k8s   bool // also refused by Kubernetes
	}{
		{"no image", func(s *Spec) { s.Image = "" }, "Image", true},
		{"image with a space", func(s *Spec) { s.Image = "a b" }, "Image", true},
		{"upper-case name", func(s *Spec) { s.Name = "Run" }, "Name", true},
		{"long name", func(s *Spec) { s.Name = strings.Repeat("a", MaxNameLen+1) }, "Name", true},
		{"local root", func(s *Spec) { s.Root = "/tmp/run" }, "Root", true},
		{"no bucket", func(s *Spec) { s.Root = "s3:///run" }, "Root", true},
		{"no ranges", func(s *Spec) { s.Ranges = 0 }, "Ranges", true},
		{"too many ranges", func(s *Spec) { s.Ranges = MaxArraySize + 1 }, "Ranges", true},
		{"negative slices", func(s *Spec) { s.Slices = -1 }, "Slices", true},
		{"too many attempts", func(s *Spec) { s.Attempts = 11 }, "Attempts", true},
		{"short timeout", func(s *Spec) { s.AttemptTimeout = 59 * time.Second }, "AttemptTimeout", true},
		{"fractional timeout", func(s *Spec) { s.AttemptTimeout = 90500 * time.Millisecond }, "AttemptTimeout", true},
		{"small memory", func(s *Spec) { s.Worker.MemoryMiB = 255 }, "MemoryMiB", true},
		{"a profile", func(s *Spec) { s.GlobalArgs = []string{"--profile=prod"} }, "GlobalArgs", true},
		{"negative parallelism", func(s *Spec) { s.Kubernetes.Parallelism = -1 }, "Kubernetes.Parallelism", true},
		{"no job queue", func(s *Spec) { s.AWS.JobQueue = "" }, "AWS.JobQueue", false},
		{"unknown command", func(s *Spec) { s.Command = "cat" }, "Command", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			_, err := AWSBatch(s)
			var se *SpecError
			if !errors.Is(err, ErrSpec) || !errors.As(err, &se) || se.Field != tt.field {
				t.Fatalf("AWSBatch: %v, want a SpecError on %s", err, tt.field)
			}
			_, err = Kubernetes(s)
			if tt.k8s != (err != nil) {
				t.Fatalf("Kubernetes: %v, want refused: %v", err, tt.k8s)
			}
		})
	}
	if _, err := AWSBatch(ok); err != nil {
		t.Fatal(err)
	}
}

// TestYAMLQuoting writes values that a plain YAML scalar would turn
// into something else, and checks that each is written double-quoted
// and reads back, as JSON, as itself.
func TestYAMLQuoting(t *testing.T) {
	vals := []string{"yes", "no", "on", "null", "~", "1e3", "0x10", "-", "- a", "#x", "a: b", "a #b", "'", "\"", "\\", "", " lead", "tab\tx", "\u2028", "\x7f", "\u0085", "\u0080", "\ufeff", "日本", "{a}", "[", "*a", "&a", "!a", "%a", "@a", "`a", "|", ">"}
	var b bytes.Buffer
	m := map[string]any{"vals": vals, "yes": "k", "a b": 1, "n": true}
	if err := appendYAML(&b, m); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		line = strings.TrimSpace(line)
		val := line
		if strings.HasPrefix(line, "- ") {
			val = strings.TrimPrefix(line, "- ")
		} else if strings.HasPrefix(line, "\"") || line == "vals:" {
			continue
		}
		if !strings.HasPrefix(val, "\"") || strings.IndexFunc(val, yamlUnprintable) >= 0 {
			t.Errorf("line %q: not double-quoted, or holds a character YAML must escape", line)
			continue
		}
		var s string
		if err := json.Unmarshal([]byte(val), &s); err != nil {
			t.Errorf("line %q: %v", line, err)
		}
	}
	for _, k := range []string{`"yes": "k"`, `"a b": 1`, `"n": true`} {
		if !strings.Contains(out, k+"\n") {
			t.Errorf("key not quoted: want %s in\n%s", k, out)
		}
	}
}

// FuzzQuote: every string is written as a double-quoted scalar that
// holds no character YAML must escape, and that reads back (JSON's
// escapes are YAML's) as JSON's own encoding of the string.
func FuzzQuote(f *testing.F) {
	for _, s := range goldenSpecs()["direct"].PlanArgs {
		f.Add(s)
	}
	f.Add("\x7f\u0085\ufeff\xff")
	f.Fuzz(func(t *testing.T, s string) {
		q := quote(s)
		if strings.IndexFunc(q, yamlUnprintable) >= 0 || strings.ContainsAny(q, "\n\r\t") {
			t.Fatalf("quote(%q) = %s: holds a character YAML must escape", s, q)
		}
		var got string
		if err := json.Unmarshal([]byte(q), &got); err != nil {
			t.Fatalf("quote(%q) = %s: %v", s, q, err)
		}
		js, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(js, &want)
		if got != want {
			t.Fatalf("quote(%q) reads back as %q, want %q", s, got, want)
		}
	})
}
