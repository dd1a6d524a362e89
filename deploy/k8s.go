package deploy

import (
	"bytes"
	"fmt"
	"maps"
	"strconv"
)

// Kubernetes: batch/v1 Jobs, written from the subset of the API's types
// they use (field names and nesting as in k8s.io/api/batch/v1 and
// core/v1; deploy/k8scheck decodes the output strictly into those types).

// ContainerName is the name of the one container of every pod; the pod
// failure policies name it.
const ContainerName = "s3batchkit"

// RunAsUser is the numeric user and group the pods run as: the image's
// non-root user (the Dockerfile's), numeric so that runAsNonRoot can be
// checked.
const RunAsUser = 65532

// K8sJob is a batch/v1 Job.
type K8sJob struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Metadata   K8sObjectMeta `json:"metadata"`
	Spec       K8sJobSpec    `json:"spec"`
}

// K8sObjectMeta is the metadata of a Job or of its pod template.
type K8sObjectMeta struct {
	Name      string            `json:"name,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// K8sJobSpec is a Job's spec.
type K8sJobSpec struct {
	CompletionMode       string              `json:"completionMode,omitempty"`
	Completions          int                 `json:"completions"`
	Parallelism          int                 `json:"parallelism"`
	BackoffLimit         *int                `json:"backoffLimit,omitempty"`
	BackoffLimitPerIndex *int                `json:"backoffLimitPerIndex,omitempty"`
	PodFailurePolicy     K8sPodFailurePolicy `json:"podFailurePolicy"`
	Template             K8sPodTemplate      `json:"template"`
}

// K8sPodFailurePolicy decides, rule by rule, what a failed pod means.
type K8sPodFailurePolicy struct {
	Rules []K8sPodFailureRule `json:"rules"`
}

// K8sPodFailureRule is one rule; the first that matches decides.
type K8sPodFailureRule struct {
	Action          string              `json:"action"`
	OnExitCodes     *K8sOnExitCodes     `json:"onExitCodes,omitempty"`
	OnPodConditions []K8sOnPodCondition `json:"onPodConditions,omitempty"`
}

// K8sOnExitCodes matches a container's exit code.
type K8sOnExitCodes struct {
	ContainerName string `json:"containerName"`
	Operator      string `json:"operator"`
	Values        []int  `json:"values"`
}

// K8sOnPodCondition matches a pod condition.
type K8sOnPodCondition struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

// K8sPodTemplate is a Job's pod template.
type K8sPodTemplate struct {
	Metadata K8sObjectMeta `json:"metadata"`
	Spec     K8sPodSpec    `json:"spec"`
}

// K8sPodSpec is a pod's spec.
type K8sPodSpec struct {
	RestartPolicy         string                `json:"restartPolicy"`
	ServiceAccountName    string                `json:"serviceAccountName,omitempty"`
	ActiveDeadlineSeconds int64                 `json:"activeDeadlineSeconds,omitempty"`
	SecurityContext       K8sPodSecurityContext `json:"securityContext"`
	Containers            []K8sContainer        `json:"containers"`
	Volumes               []K8sVolume           `json:"volumes"`
}

// K8sPodSecurityContext runs the pod as the image's non-root user.
type K8sPodSecurityContext struct {
	RunAsNonRoot   bool              `json:"runAsNonRoot"`
	RunAsUser      int               `json:"runAsUser"`
	RunAsGroup     int               `json:"runAsGroup"`
	SeccompProfile K8sSeccompProfile `json:"seccompProfile"`
}

// K8sSeccompProfile names a seccomp profile type.
type K8sSeccompProfile struct {
	Type string `json:"type"`
}

// K8sContainer is the pod's one container. Args (not command) so that
// the image's entrypoint, the binary, runs them.
type K8sContainer struct {
	Name            string             `json:"name"`
	Image           string             `json:"image"`
	Args            []string           `json:"args"`
	Env             []K8sEnvVar        `json:"env"`
	Resources       K8sResources       `json:"resources"`
	SecurityContext K8sSecurityContext `json:"securityContext"`
	VolumeMounts    []K8sVolumeMount   `json:"volumeMounts"`
}

// K8sEnvVar is a literal environment variable.
type K8sEnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// K8sResources are requests and limits, as quantities.
type K8sResources struct {
	Requests map[string]string `json:"requests"`
	Limits   map[string]string `json:"limits"`
}

// K8sSecurityContext is the container's.
type K8sSecurityContext struct {
	AllowPrivilegeEscalation bool            `json:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   bool            `json:"readOnlyRootFilesystem"`
	Capabilities             K8sCapabilities `json:"capabilities"`
}

// K8sCapabilities drops capabilities.
type K8sCapabilities struct {
	Drop []string `json:"drop"`
}

// K8sVolumeMount mounts a volume.
type K8sVolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
}

// K8sVolume is an emptyDir volume (the sort's spill).
type K8sVolume struct {
	Name     string      `json:"name"`
	EmptyDir K8sEmptyDir `json:"emptyDir"`
}

// K8sEmptyDir is an emptyDir with the node's default medium.
type K8sEmptyDir struct{}

// Labels of every Job and pod: the app, the run (Spec.Name) and the step
// (StepScatter, StepWorkers, StepMerge), by which `kubectl apply -l`
// picks one step out of the stream.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
)

// Kubernetes returns the Kubernetes definitions of s: a multi-document
// YAML stream of the scatter Indexed Job (shuffle mode), the workers'
// Indexed Job and the merge Job, each labeled with its step, ending in a
// newline. s gets its defaults first; an invalid Spec returns a
// *SpecError.
func Kubernetes(s Spec) ([]byte, error) {
	jobs, err := K8sJobs(s)
	if err != nil {
		return nil, err
	}
	s = s.WithDefaults()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# s3batchkit distributed plan %s: %s\n", s.Name, s.RangesLocation())
	b.WriteString("# Apply one step at a time, each when the one before is Complete:\n")
	ns := ""
	if s.Kubernetes.Namespace != "" {
		ns = " -n " + s.Kubernetes.Namespace
	}
	for _, j := range jobs {
		step := j.Metadata.Labels[LabelComponent]
		fmt.Fprintf(&b, "#   kubectl apply -f FILE -l %s=%s,%s=%s && kubectl%s wait --for=condition=Complete job/%s --timeout=24h\n",
			LabelInstance, s.Name, LabelComponent, step, ns, j.Metadata.Name)
	}
	b.WriteString("# (docs/scale-out.md also watches for Failed.) Credentials: the service account's IAM role (IRSA or EKS Pod Identity).\n")
	for _, j := range jobs {
		b.WriteString("---\n")
		if err := appendYAML(&b, j); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// K8sJobs builds the Jobs of s in the order they run (see Kubernetes).
func K8sJobs(s Spec) ([]K8sJob, error) {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var jobs []K8sJob
	if s.Shuffle() {
		jobs = append(jobs, s.k8sJob(StepScatter, s.ScatterArgs(), s.Worker, s.Slices))
	}
	jobs = append(jobs, s.k8sJob(StepWorkers, s.WorkerArgs(), s.Worker, s.Ranges))
	jobs = append(jobs, s.k8sJob(StepMerge, s.MergeArgs(), s.Merge, 0))
	return jobs, nil
}

// k8sJob is the Job of one step: an Indexed Job of size completions, or
// (size 0) a Job of one pod. Both end at exit 2 or 3 without a retry (an
// Indexed Job fails that index; a Job fails), retry anything else up to
// Attempts−1 times, and do not count a pod evicted or preempted
// (condition DisruptionTarget) as a failure.
func (s Spec) k8sJob(step string, args []string, r Resources, size int) K8sJob {
	labels := map[string]string{LabelName: "s3batchkit", LabelInstance: s.Name, LabelComponent: step}
	retries := s.Attempts - 1
	noRetry := K8sPodFailureRule{Action: "FailIndex",
		OnExitCodes: &K8sOnExitCodes{ContainerName: ContainerName, Operator: "In", Values: []int{2, 3}}}
	spec := K8sJobSpec{Completions: 1, Parallelism: 1}
	if size > 0 {
		spec.CompletionMode = "Indexed"
		spec.Completions = size
		spec.Parallelism = size
		if p := s.Kubernetes.Parallelism; p > 0 && p < size {
			spec.Parallelism = p
		}
		spec.BackoffLimitPerIndex = &retries
	} else {
		noRetry.Action = "FailJob"
		spec.BackoffLimit = &retries
	}
	spec.PodFailurePolicy = K8sPodFailurePolicy{Rules: []K8sPodFailureRule{
		noRetry,
		{Action: "Ignore", OnPodConditions: []K8sOnPodCondition{{Type: "DisruptionTarget", Status: "True"}}},
	}}
	res := map[string]string{"cpu": strconv.Itoa(r.VCPUs), "memory": strconv.Itoa(r.MemoryMiB) + "Mi"}
	spec.Template = K8sPodTemplate{
		Metadata: K8sObjectMeta{Labels: maps.Clone(labels)},
		Spec: K8sPodSpec{
			RestartPolicy:         "Never",
			ServiceAccountName:    s.Kubernetes.ServiceAccount,
			ActiveDeadlineSeconds: int64(s.AttemptTimeout.Seconds()),
			SecurityContext: K8sPodSecurityContext{RunAsNonRoot: true, RunAsUser: RunAsUser, RunAsGroup: RunAsUser,
				SeccompProfile: K8sSeccompProfile{Type: "RuntimeDefault"}},
			Containers: []K8sContainer{{
				Name:  ContainerName,
				Image: s.Image,
				Args:  args,
				// The sort spills to $TMPDIR: the emptyDir, since the
				// root filesystem is read-only.
				Env:       []K8sEnvVar{{Name: "TMPDIR", Value: "/tmp"}},
				Resources: K8sResources{Requests: res, Limits: res},
				SecurityContext: K8sSecurityContext{AllowPrivilegeEscalation: false, ReadOnlyRootFilesystem: true,
					Capabilities: K8sCapabilities{Drop: []string{"ALL"}}},
				VolumeMounts: []K8sVolumeMount{{Name: "tmp", MountPath: "/tmp"}},
			}},
			Volumes: []K8sVolume{{Name: "tmp", EmptyDir: K8sEmptyDir{}}},
		},
	}
	return K8sJob{
		APIVersion: "batch/v1",
		Kind:       "Job",
		Metadata:   K8sObjectMeta{Name: s.JobName(step), Namespace: s.Kubernetes.Namespace, Labels: labels},
		Spec:       spec,
	}
}
