// Command k8scheck checks a multi-document YAML stream of Kubernetes Jobs
// offline, against the API's own Go types: each document is decoded
// strictly (sigs.k8s.io/yaml UnmarshalStrict: an unknown or duplicated
// field, or a value of the wrong type, is an error) into
// k8s.io/api/batch/v1.Job, then checked against the rules of the API
// server's Job validation that the emitted Jobs rely on, and names and
// labels against k8s.io/apimachinery's validators.
//
// It reads the stream on stdin and prints, for each document, its JSON
// (one line, as sigs.k8s.io/yaml read it) so that the caller can compare
// values with what it meant to write. Exit 1 and a message naming the
// document on the first problem.
//
// It is a module of its own (deploy/k8scheck/go.mod), so that the main
// module does not depend on the Kubernetes API; deploy's tests run it
// with `go run`.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

func main() {
	in, err := io.ReadAll(bufio.NewReader(os.Stdin))
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8scheck:", err)
		os.Exit(1)
	}
	docs, err := check(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8scheck:", err)
		os.Exit(1)
	}
	for _, d := range docs {
		fmt.Println(string(d))
	}
}

// check returns the JSON of each document of stream.
func check(stream []byte) ([][]byte, error) {
	var out [][]byte
	for i, doc := range splitDocs(stream) {
		var job batchv1.Job
		if err := yaml.UnmarshalStrict(doc, &job); err != nil {
			return nil, fmt.Errorf("document %d: strict decoding into batch/v1 Job: %w", i+1, err)
		}
		if err := validate(&job); err != nil {
			return nil, fmt.Errorf("document %d (job %s): %w", i+1, job.Name, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, js); err != nil {
			return nil, err
		}
		out = append(out, compact.Bytes())
	}
	if len(out) == 0 {
		return nil, errors.New("no document")
	}
	return out, nil
}

// splitDocs cuts a stream at its "---" lines, dropping documents that
// hold only comments or blank lines.
func splitDocs(stream []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	content := false
	flush := func() {
		if content {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
		content = false
	}
	for _, line := range strings.SplitAfter(string(stream), "\n") {
		if strings.TrimRight(line, "\r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			content = true
		}
	}
	flush()
	return docs
}

// validate applies the API server's rules (k8s.io/kubernetes
// pkg/apis/batch/validation) that these Jobs depend on.
func validate(j *batchv1.Job) error {
	if j.APIVersion != "batch/v1" || j.Kind != "Job" {
		return fmt.Errorf("apiVersion/kind %s/%s, expected batch/v1 Job", j.APIVersion, j.Kind)
	}
	if errs := validation.IsDNS1123Subdomain(j.Name); len(errs) > 0 {
		return fmt.Errorf("metadata.name: %s", strings.Join(errs, "; "))
	}
	if j.Namespace != "" {
		if errs := validation.IsDNS1123Label(j.Namespace); len(errs) > 0 {
			return fmt.Errorf("metadata.namespace: %s", strings.Join(errs, "; "))
		}
	}
	for _, labels := range []map[string]string{j.Labels, j.Spec.Template.Labels} {
		for k, v := range labels {
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				return fmt.Errorf("label %q: %s", k, strings.Join(errs, "; "))
			}
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return fmt.Errorf("label %s=%q: %s", k, v, strings.Join(errs, "; "))
			}
		}
	}
	s := &j.Spec
	pod := &s.Template.Spec
	indexed := s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
	switch {
	case indexed && s.Completions == nil:
		return errors.New("spec.completions: required when completionMode is Indexed")
	case indexed && len(j.Name)+len("-")+len(fmt.Sprint(*s.Completions-1)) > validation.DNS1123LabelMaxLength:
		// pods of an Indexed Job get the hostname <job name>-<index>
		return fmt.Errorf("metadata.name: too long for an Indexed Job's pod hostnames")
	case s.BackoffLimitPerIndex != nil && !indexed:
		return errors.New("spec.backoffLimitPerIndex: requires completionMode Indexed")
	case s.Completions != nil && *s.Completions < 1, s.Parallelism != nil && *s.Parallelism < 0:
		return errors.New("spec.completions/parallelism out of range")
	case pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure:
		return fmt.Errorf("spec.template.spec.restartPolicy %q: a Job's pods need Never or OnFailure", pod.RestartPolicy)
	case s.PodFailurePolicy != nil && pod.RestartPolicy != corev1.RestartPolicyNever:
		return errors.New("spec.podFailurePolicy: requires restartPolicy Never")
	case len(pod.Containers) == 0:
		return errors.New("spec.template.spec.containers: required")
	}
	containers := map[string]bool{}
	for _, c := range pod.Containers {
		if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 {
			return fmt.Errorf("container name %q: %s", c.Name, strings.Join(errs, "; "))
		}
		if c.Image == "" {
			return fmt.Errorf("container %s: no image", c.Name)
		}
		containers[c.Name] = true
	}
	if s.PodFailurePolicy == nil {
		return nil
	}
	for i, r := range s.PodFailurePolicy.Rules {
		switch r.Action {
		case batchv1.PodFailurePolicyActionFailIndex:
			if s.BackoffLimitPerIndex == nil {
				return fmt.Errorf("podFailurePolicy.rules[%d]: FailIndex requires backoffLimitPerIndex", i)
			}
		case batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore, batchv1.PodFailurePolicyActionCount:
		default:
			return fmt.Errorf("podFailurePolicy.rules[%d].action %q: unknown", i, r.Action)
		}
		if (r.OnExitCodes == nil) == (len(r.OnPodConditions) == 0) {
			return fmt.Errorf("podFailurePolicy.rules[%d]: exactly one of onExitCodes and onPodConditions", i)
		}
		if e := r.OnExitCodes; e != nil {
			if e.ContainerName != nil && !containers[*e.ContainerName] {
				return fmt.Errorf("podFailurePolicy.rules[%d].onExitCodes.containerName %q: no such container", i, *e.ContainerName)
			}
			if e.Operator != batchv1.PodFailurePolicyOnExitCodesOpIn && e.Operator != batchv1.PodFailurePolicyOnExitCodesOpNotIn {
				return fmt.Errorf("podFailurePolicy.rules[%d].onExitCodes.operator %q", i, e.Operator)
			}
			if len(e.Values) == 0 || !slices.IsSorted(e.Values) || len(slices.Compact(slices.Clone(e.Values))) != len(e.Values) ||
				(e.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && slices.Contains(e.Values, 0)) {
				return fmt.Errorf("podFailurePolicy.rules[%d].onExitCodes.values %v: non-empty, ascending, unique, no 0 with In", i, e.Values)
			}
		}
	}
	return nil
}
