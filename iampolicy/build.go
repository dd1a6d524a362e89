package iampolicy

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/optname"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// Options say which role to describe. Build checks them.
type Options struct {
	// Plan is the plan the jobs run over; its shards name the buckets.
	Plan *manifest.Plan
	// PlanDir is where the plan is (a local folder, or s3://bucket/prefix
	// for a plan whose shards are used where they are).
	PlanDir string
	// PlanID is jobs.PlanID of the plan's plan.json: submit uploads the
	// shards of a local plan under <ManifestPrefix>/<PlanID>/.
	PlanID string
	// Routes limits the role to the shards of these routes; empty: all.
	Routes []string
	// Operation is the job's operation, as jobs.ParseOperation returns it.
	Operation types.JobOperation
	// ManifestPrefix is submit's --manifest-bucket, s3://bucket[/prefix]:
	// required for a local plan, refused for a plan in S3.
	ManifestPrefix string
	// ReportBucket is the completion report bucket ARN
	// (arn:aws:s3:::bucket); its partition is used for every S3 ARN.
	ReportBucket string
	// ReportPrefix is the reports' key prefix (submit's --report-prefix).
	ReportPrefix string
	// AccountID, when set, adds an aws:SourceAccount condition to the
	// trust policy.
	AccountID string
	// KMSKeyARNs are KMS keys (key ARNs, not aliases) the job needs:
	// those that encrypt the objects it reads, or that it encrypts with.
	KMSKeyARNs []string
	// OptionName names the options in explanations, notes and errors
	// (such as "KMSKeyARNs") the way the caller's users set them; nil: the
	// field names. See internal/optname.
	OptionName func(option string) string
}

// name is how the caller's users know option (Options.OptionName).
func (b *builder) name(option string) string { return optname.Name(b.o.OptionName, option) }

// Result is a role: its two policies, the reason for each statement and
// notes the user must read (always a list, possibly empty).
type Result struct {
	TrustPolicy       Policy        `json:"trust_policy"`
	PermissionsPolicy Policy        `json:"permissions_policy"`
	Explanation       []Explanation `json:"explanation"`
	Notes             []string      `json:"notes"`
}

// Explanation says why one statement is in a policy.
type Explanation struct {
	Policy    string   `json:"policy"`    // "trust" or "permissions"
	Statement string   `json:"statement"` // the statement's Sid
	Why       string   `json:"why"`
	Sources   []string `json:"sources"`
}

// LoadPlan reads DIR/plan.json (local or s3://) through oc and returns
// the plan and its id (jobs.PlanID), as submit computes them.
func LoadPlan(ctx context.Context, oc *objio.Client, dir string) (*manifest.Plan, string, error) {
	plan, err := manifest.ReadPlan(ctx, oc, dir)
	if err != nil {
		return nil, "", err
	}
	raw, err := oc.ReadAll(ctx, objio.Join(dir, manifest.PlanFile))
	if err != nil {
		return nil, "", err
	}
	return plan, jobs.PlanID(raw), nil
}

var (
	reportBucketRE = regexp.MustCompile(`^arn:([^:]+):s3:::([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])$`)
	accountRE      = regexp.MustCompile(`^\d{12}$`)
	kmsKeyRE       = regexp.MustCompile(`^arn:([^:]+):kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$`)
	kmsAliasRE     = regexp.MustCompile(`^arn:[^:]+:kms:[^:]*:\d{12}:alias/`)
	// bucketNameRE takes today's names and the legacy ones (capitals,
	// underscores) a plan's inventory can hold; none has '*' or '?'.
	bucketNameRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{3,255}$`)
	s3BucketARNRE = regexp.MustCompile(`^arn:([^:]+):s3:::([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])$`)
	expressARNRE  = regexp.MustCompile(`^arn:([^:]+):s3express:[a-z0-9-]+:\d{12}:bucket/[a-z0-9][a-z0-9.\-]*--x-s3$`)
	lambdaARNRE   = regexp.MustCompile(`^arn:([^:]+):lambda:`)
	// lambdaFnRE is one function's ARN, with a version or alias or not
	// (Lambda's FunctionName rules: a name of letters, digits, '-' and
	// '_'; a version number, $LATEST or an alias).
	lambdaFnRE = regexp.MustCompile(`^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,140}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$`)
)

// builder collects statements with their explanations.
type builder struct {
	o         Options
	partition string
	targets   []target // the plan's buckets, sorted by name
	dirs      []string // the selected shards' folders in the plan, e.g. shards/copy/
	stmts     []Statement
	expl      []Explanation
	notes     []string
}

// target is one bucket of the plan.
type target struct {
	bucket    string
	versioned bool     // some shard of it lists version ids
	prefixes  []string // literal key prefixes its keys all start with; "" is the whole bucket
}

// Build writes the trust and permissions policies of the role a job of
// o.Operation needs over the plan's shards (those of o.Routes). It does
// no I/O. Errors wrap ErrInvalid (options, as *OptionError) or
// jobs.ErrOperation (the operation).
func Build(o Options) (*Result, error) {
	b := &builder{o: o}
	if err := b.check(); err != nil {
		return nil, err
	}
	if err := b.selectShards(); err != nil {
		return nil, err
	}
	b.trust()
	trust := Policy{Version: PolicyVersion, Statement: b.stmts}
	b.stmts = nil
	b.manifestRead()
	b.reportWrite()
	if err := b.operation(); err != nil {
		return nil, err
	}
	perms := Policy{Version: PolicyVersion, Statement: b.stmts}
	if err := Check(trust, Trust); err != nil {
		return nil, fmt.Errorf("internal error: the trust policy fails its own check: %w", err)
	}
	if err := Check(perms, Permissions); err != nil {
		return nil, fmt.Errorf("internal error: the permissions policy fails its own check: %w", err)
	}
	b.commonNotes(perms)
	return &Result{TrustPolicy: trust, PermissionsPolicy: perms, Explanation: b.expl, Notes: b.notes}, nil
}

// Validate checks the options that need no plan: the operation, the
// report bucket and prefix, the account, the manifest location against
// PlanDir, and the KMS key ARNs. Build calls it first; a command line can
// call it before reading the plan. Errors are as Build's.
func (o Options) Validate() error {
	b := &builder{o: o}
	return b.validate()
}

func (b *builder) validate() error {
	o := b.o
	if err := jobs.ValidateOperation(o.Operation); err != nil {
		return err
	}
	m := reportBucketRE.FindStringSubmatch(o.ReportBucket)
	if m == nil {
		return optErr("ReportBucket", o.ReportBucket, "a general purpose bucket ARN such as arn:aws:s3:::my-reports")
	}
	b.partition = m[1]
	if len(o.ReportPrefix) > 512 {
		return optErr("ReportPrefix", "", "at most 512 characters, got %d", len(o.ReportPrefix))
	}
	if o.AccountID != "" && !accountRE.MatchString(o.AccountID) {
		return optErr("AccountID", o.AccountID, "12 digits")
	}
	local := !objio.IsS3(o.PlanDir)
	switch {
	case o.PlanDir == "":
		return optErr("PlanDir", "", "required: the plan's folder or s3:// prefix")
	case local && o.ManifestPrefix == "":
		return optErr("ManifestPrefix", "", "required for the local plan %s: submit uploads its shards there (s3://bucket[/prefix])", o.PlanDir)
	case !local && o.ManifestPrefix != "":
		return optErr("ManifestPrefix", o.ManifestPrefix, "must be empty: the plan %s is in S3 and its shards are used where they are", o.PlanDir)
	}
	if o.ManifestPrefix != "" {
		if bucket, _, err := objio.ParseS3(o.ManifestPrefix); err != nil || !bucketNameRE.MatchString(bucket) {
			return optErr("ManifestPrefix", o.ManifestPrefix, "s3://bucket[/prefix]")
		}
	} else if bucket, _, err := objio.ParseS3(o.PlanDir); err != nil || !bucketNameRE.MatchString(bucket) {
		return optErr("PlanDir", o.PlanDir, "a local folder or s3://bucket[/prefix]")
	}
	for _, k := range o.KMSKeyARNs {
		if err := b.checkKMS("KMSKeyARNs", k); err != nil {
			return err
		}
	}
	return nil
}

// check is validate plus what needs the plan.
func (b *builder) check() error {
	if b.o.Plan == nil {
		return optErr("Plan", "", "required")
	}
	if err := b.validate(); err != nil {
		return err
	}
	if !objio.IsS3(b.o.PlanDir) && b.o.PlanID == "" {
		return optErr("PlanID", "", "required for a local plan (the shards are uploaded under <manifest prefix>/<plan id>/)")
	}
	return nil
}

func (b *builder) checkKMS(option, arn string) error {
	if kmsAliasRE.MatchString(arn) {
		return optErr(option, arn, "a KMS key ARN, not an alias ARN: an alias in a policy's Resource names the alias, not its key [%s]; find the key with: aws kms describe-key --key-id %s --query KeyMetadata.Arn", SrcKMSAliases, arn)
	}
	m := kmsKeyRE.FindStringSubmatch(arn)
	if m == nil {
		return optErr(option, arn, "a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
	}
	if m[1] != b.partition {
		return optErr(option, arn, "partition %q, but the report bucket is in %q", m[1], b.partition)
	}
	return nil
}

// selectShards gathers the buckets and shard folders of the selected
// routes.
func (b *builder) selectShards() error {
	plan := b.o.Plan
	want := map[string]bool{}
	for _, r := range b.o.Routes {
		want[r] = true
	}
	have := map[string]bool{}
	var shards []manifest.Shard
	for _, sh := range plan.Shards {
		have[sh.Route] = true
		if len(want) == 0 || want[sh.Route] {
			shards = append(shards, sh)
		}
	}
	for r := range want {
		if !have[r] {
			names := make([]string, 0, len(have))
			for n := range have {
				names = append(names, n)
			}
			sort.Strings(names)
			return optErr("Routes", r, "not a route of the plan (it has: %s)", strings.Join(names, ", "))
		}
	}
	if len(shards) == 0 {
		return optErr("Plan", "", "the plan has no shards: no job, no role")
	}
	prefixes, note := planPrefixes(plan, shards)
	if note != "" {
		b.notes = append(b.notes, note)
	}
	byBucket := map[string]*target{}
	dirs := map[string]bool{}
	for _, sh := range shards {
		if !bucketNameRE.MatchString(sh.Bucket) {
			return optErr("Plan", sh.Bucket, "shard %s: not a bucket name", sh.Path)
		}
		t := byBucket[sh.Bucket]
		if t == nil {
			t = &target{bucket: sh.Bucket, prefixes: prefixes}
			byBucket[sh.Bucket] = t
		}
		t.versioned = t.versioned || sh.VersionIDs
		dirs[path.Dir(sh.Path)+"/"] = true
	}
	for _, t := range byBucket {
		b.targets = append(b.targets, *t)
	}
	sort.Slice(b.targets, func(i, j int) bool { return b.targets[i].bucket < b.targets[j].bucket })
	for d := range dirs {
		b.dirs = append(b.dirs, d)
	}
	sort.Strings(b.dirs)
	return nil
}

// planPrefixes returns the literal key prefixes every selected shard's
// keys start with, from the plan's prefix filters (options.prefixes), or
// [""] (whole buckets) with a note saying why not. A diff plan's options
// describe the compared reports, not the shards' keys, so they are not
// used.
func planPrefixes(plan *manifest.Plan, shards []manifest.Shard) ([]string, string) {
	whole := []string{""}
	if _, diff := plan.Options["diff"]; diff {
		return whole, ""
	}
	var list []string
	switch v := plan.Options["prefixes"].(type) {
	case []string:
		list = v
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return whole, ""
			}
			list = append(list, s)
		}
	}
	if len(list) == 0 {
		return whole, ""
	}
	covered := func(key string) bool {
		for _, p := range list {
			if strings.HasPrefix(key, p) {
				return true
			}
		}
		return false
	}
	for _, sh := range shards {
		if sh.Objects > 0 && (!covered(sh.FirstKey) || !covered(sh.LastKey)) {
			return whole, fmt.Sprintf("plan.json lists the prefix filters %q, but shard %s holds keys outside them: the role gets whole buckets.", list, sh.Path)
		}
	}
	cut := false
	var lits []string
	for _, p := range list {
		l, c := literal(p)
		cut = cut || c
		lits = append(lits, l)
	}
	lits = minimalPrefixes(lits)
	note := ""
	if cut {
		note = fmt.Sprintf("Some of the plan's prefixes hold '*', '?', '$' or characters IAM does not take in a policy; the object ARNs stop before them (wider, never narrower) [%s] [%s].", SrcResourceElement, SrcPutRolePolicy)
	}
	return lits, note
}

// literal returns the longest beginning of s that a resource ARN matches
// literally: before the first '*' or '?' (wildcards [SrcResourceElement]),
// '$' (which can start a policy variable) or character IAM refuses in a
// policy document [SrcPutRolePolicy]. cut says whether s was shortened.
func literal(s string) (string, bool) {
	for i, r := range s {
		if r == '*' || r == '?' || r == '$' || !policyRune(r) || r == '\t' || r == '\n' || r == '\r' {
			return s[:i], true
		}
	}
	return s, false
}

// minimalPrefixes sorts and drops prefixes that a shorter one in the list
// already covers; "" covers everything.
func minimalPrefixes(ps []string) []string {
	sort.Strings(ps)
	var out []string
	for _, p := range ps {
		if len(out) > 0 && strings.HasPrefix(p, out[len(out)-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// add appends a statement and its explanation.
func (b *builder) add(sid string, actions, resources []string, why string, sources ...string) {
	b.stmts = append(b.stmts, Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources})
	b.expl = append(b.expl, Explanation{Policy: "permissions", Statement: sid, Why: why, Sources: sources})
}

func (b *builder) bucketARN(bucket string) string { return "arn:" + b.partition + ":s3:::" + bucket }

// objectARN is the ARN of the objects of bucket whose keys start with the
// literal prefix.
func (b *builder) objectARN(bucket, prefix string) string {
	return b.bucketARN(bucket) + "/" + prefix + "*"
}

// objects lists the object ARNs of the plan's buckets (only the versioned
// ones if versionedOnly).
func (b *builder) objects(versionedOnly bool) []string {
	var out []string
	for _, t := range b.targets {
		if versionedOnly && !t.versioned {
			continue
		}
		for _, p := range t.prefixes {
			out = append(out, b.objectARN(t.bucket, p))
		}
	}
	return out
}

func (b *builder) buckets() []string {
	var out []string
	for _, t := range b.targets {
		out = append(out, b.bucketARN(t.bucket))
	}
	return out
}

func (b *builder) anyVersioned() bool {
	for _, t := range b.targets {
		if t.versioned {
			return true
		}
	}
	return false
}

func (b *builder) trust() {
	st := Statement{
		Sid:       "BatchOperationsAssumeRole",
		Effect:    "Allow",
		Principal: &Principal{Service: ServicePrincipal},
		Action:    []string{"sts:AssumeRole"},
	}
	why := "Lets S3 Batch Operations assume the role to run the job's tasks."
	sources := []string{SrcRolePolicies}
	if b.o.AccountID != "" {
		st.Condition = map[string]map[string]string{"StringEquals": {"aws:SourceAccount": b.o.AccountID}}
		why += " The aws:SourceAccount condition lets the service assume it only for jobs of account " + b.o.AccountID +
			", as IAM recommends against the cross-service confused deputy problem. AWS's Batch Operations pages show the trust policy without it, and a condition key missing from the request fails the condition: if CreateJob or the job reports that the role cannot be assumed, create the role without " + b.name("AccountID") + "."
		sources = append(sources, SrcConfusedDeputy, SrcConditionKeys)
	}
	b.stmts = append(b.stmts, st)
	b.expl = append(b.expl, Explanation{Policy: "trust", Statement: st.Sid, Why: why, Sources: sources})
}

// manifestRead grants reading the shards where the jobs read them.
func (b *builder) manifestRead() {
	var res []string
	var where string
	seen := map[string]bool{}
	for _, d := range b.dirs {
		var loc string
		if b.o.ManifestPrefix != "" {
			loc = objio.Join(objio.Join(b.o.ManifestPrefix, b.o.PlanID), d)
			where = fmt.Sprintf("submit uploads the shards of the local plan to %s/%s/", strings.TrimSuffix(b.o.ManifestPrefix, "/"), b.o.PlanID)
		} else {
			loc = objio.Join(b.o.PlanDir, d)
			where = "the jobs read the shards where the plan is, " + b.o.PlanDir
		}
		bucket, key, _ := objio.ParseS3(loc)
		lit, _ := literal(key)
		arn := b.objectARN(bucket, lit)
		if !seen[arn] {
			seen[arn] = true
			res = append(res, arn)
		}
	}
	why := "Reads the job's manifest (its shard CSV): " + where + ". Every AWS example policy grants s3:GetObject and s3:GetObjectVersion on the manifest; without them CreateJob fails with \"Reading the manifest is forbidden: AccessDenied\"."
	if b.o.ManifestPrefix != "" {
		why += " The location holds the plan id: after re-planning, generate the policy again."
	}
	b.add("ReadManifest", []string{"s3:GetObject", "s3:GetObjectVersion"}, res, why, SrcRolePolicies, SrcTroubleshooting)
}

func (b *builder) manifestBucket() string {
	loc := b.o.ManifestPrefix
	if loc == "" {
		loc = b.o.PlanDir
	}
	bucket, _, _ := objio.ParseS3(loc)
	return bucket
}

// reportWrite grants writing the completion reports, under
// <prefix>/job-<id>/.
func (b *builder) reportWrite() {
	m := reportBucketRE.FindStringSubmatch(b.o.ReportBucket)
	bucket := m[2]
	prefix := strings.Trim(b.o.ReportPrefix, "/")
	key := "job-"
	if prefix != "" {
		key = prefix + "/job-"
	}
	lit, _ := literal(key)
	b.add("WriteReport", []string{"s3:PutObject"}, []string{b.objectARN(bucket, lit)},
		"Writes the completion report, which Batch Operations puts under <report prefix>/job-<job id>/ (manifest.json and results/*.csv).",
		SrcRolePolicies, SrcReports)
	res := []string{b.bucketARN(bucket)}
	if mb := b.manifestBucket(); mb != bucket {
		res = append(res, b.bucketARN(mb))
	}
	sort.Strings(res)
	b.add("LocateBuckets", []string{"s3:GetBucketLocation"}, res,
		"Finds the Region of the report and manifest buckets. Earlier versions of AWS's policies granted s3:GetBucketLocation with the manifest read and the report write; the current page no longer lists it. It reveals only the bucket's Region; drop this statement if your policy reviews require it.",
		SrcRolePolicies)
}

// keys gathers the KMS keys: the options' and the operation's own (given
// by key ARN; an alias there needs the key in KMSKeyARNs).
func (b *builder) keys(opField, opKey string) ([]string, error) {
	keys := append([]string(nil), b.o.KMSKeyARNs...)
	if opKey != "" {
		switch {
		case kmsAliasRE.MatchString(opKey) && len(b.o.KMSKeyARNs) > 0:
			b.notes = append(b.notes, fmt.Sprintf("%s is the alias %s: the policy grants the keys given with %s instead (an alias in a Resource names the alias, not its key [%s]).", opField, opKey, b.name("KMSKeyARNs"), SrcKMSAliases))
		case kmsAliasRE.MatchString(opKey):
			return nil, optErr(opField, opKey, "an alias: an alias in a policy's Resource names the alias, not its key [%s]; give the key's ARN with %s (aws kms describe-key --key-id %s --query KeyMetadata.Arn)", SrcKMSAliases, b.name("KMSKeyARNs"), opKey)
		default:
			if err := b.checkKMS(opField, opKey); err != nil {
				return nil, err
			}
			keys = append(keys, opKey)
		}
	}
	sort.Strings(keys)
	var out []string
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			out = append(out, k)
		}
	}
	return out, nil
}

func (b *builder) kms(keys []string, actions []string, why string, sources ...string) {
	if len(keys) == 0 {
		return
	}
	b.add("UseKMSKeys", actions, keys, why, sources...)
}

const kmsWhy = "Uses the KMS keys that encrypt the objects the job reads or writes: AWS notes that a role running Batch Operations on encrypted objects needs access to their keys, and grants kms:Decrypt and kms:GenerateDataKey for KMS-encrypted manifests. The key policy must also allow the role (or allow IAM policies of the account)."

func (b *builder) commonNotes(perms Policy) {
	if n := perms.Size(); n > MaxInlinePolicyChars {
		b.notes = append(b.notes, fmt.Sprintf("The permissions policy is %d characters without whitespace; IAM allows %d for all inline policies of a role [%s]. Split the plan's routes across roles (%s), or create a managed policy per part.", n, MaxInlinePolicyChars, SrcIAMQuotas, b.name("Routes")))
	}
	b.notes = append(b.notes,
		"Whoever runs submit needs s3:CreateJob and iam:PassRole on this role ["+SrcRolePolicies+"], s3:PutJobTagging since submit tags every job, and for a local plan s3:PutObject and s3:GetObject on the manifest location (it uploads the shards and checks their ETags). See docs/iam.md.",
		"Buckets in other accounts must also allow this role in their bucket policies; an identity policy alone does not reach them.")
}

// operation adds the statements of the operation itself.
func (b *builder) operation() error {
	op := b.o.Operation
	switch {
	case op.S3PutObjectCopy != nil:
		return b.copy(op.S3PutObjectCopy)
	case op.S3PutObjectTagging != nil:
		b.perObject("TagObjects", "s3:PutObjectTagging", "TagObjectVersions", "s3:PutObjectVersionTagging",
			"Replaces the tag set of each object listed in the manifest", SrcRolePolicies)
	case op.S3DeleteObjectTagging != nil:
		b.perObject("DeleteObjectTags", "s3:DeleteObjectTagging", "DeleteObjectVersionTags", "s3:DeleteObjectVersionTagging",
			"Deletes the tags of each object listed in the manifest", SrcRolePolicies)
	case op.S3PutObjectAcl != nil:
		b.perObject("SetObjectAcls", "s3:PutObjectAcl", "SetObjectVersionAcls", "s3:PutObjectVersionAcl",
			"Replaces the access control list of each object listed in the manifest", SrcRolePolicies)
	case op.S3InitiateRestoreObject != nil:
		b.add("RestoreObjects", []string{"s3:RestoreObject"}, b.objects(false),
			"Starts the restore of each archived object listed in the manifest (s3:RestoreObject covers versions too).", SrcRolePolicies)
	case op.S3PutObjectRetention != nil:
		b.lockConfig()
		actions := []string{"s3:PutObjectRetention"}
		why := "Sets the Object Lock retention of each object listed in the manifest."
		if r := op.S3PutObjectRetention; r.BypassGovernanceRetention != nil && *r.BypassGovernanceRetention {
			actions = append(actions, "s3:BypassGovernanceRetention")
			why += " The operation asks to bypass GOVERNANCE retention, which needs s3:BypassGovernanceRetention."
		} else {
			why += " AWS's example also grants s3:BypassGovernanceRetention; S3 checks it only when a request bypasses GOVERNANCE retention, which this operation does not ask for, so it is left out."
		}
		b.add("SetObjectRetention", actions, b.objects(false), why, SrcRolePolicies, SrcPutObjectRetention)
	case op.S3PutObjectLegalHold != nil:
		b.lockConfig()
		b.add("SetObjectLegalHold", []string{"s3:PutObjectLegalHold"}, b.objects(false),
			"Sets the Object Lock legal hold of each object listed in the manifest.", SrcRolePolicies)
	case op.S3ReplicateObject != nil:
		b.add("InitiateReplication", []string{"s3:InitiateReplication"}, b.objects(false),
			"Replicates each object listed in the manifest with the bucket's replication configuration (Batch Replication with a manifest you supply). The replication itself runs with the replication configuration's own role, which must already allow it.",
			SrcBatchReplication, SrcRolePolicies)
	case op.S3ComputeObjectChecksum != nil:
		b.add("ReadObjects", []string{"s3:GetObject", "s3:RestoreObject"}, b.objects(false),
			"Reads the bytes of each object listed in the manifest to compute its checksum; AWS's policy for Compute checksum grants s3:GetObject, s3:GetObjectVersion and s3:RestoreObject for that.", SrcRolePolicies)
		if b.anyVersioned() {
			b.add("ReadObjectVersions", []string{"s3:GetObjectVersion"}, b.objects(true),
				"Reads the object versions the manifest names (its shards list version ids).", SrcRolePolicies)
		}
	case op.S3UpdateObjectEncryption != nil:
		return b.updateEncryption(op.S3UpdateObjectEncryption)
	case op.LambdaInvoke != nil:
		fn := *op.LambdaInvoke.FunctionArn
		if m := lambdaARNRE.FindStringSubmatch(fn); m == nil || m[1] != b.partition {
			return optErr("LambdaInvoke.FunctionArn", fn, "a Lambda function ARN in partition %q (the report bucket's)", b.partition)
		}
		// A job invokes one function: no wildcards, nothing but an ARN's
		// characters (a byte that is not UTF-8 would reach the policy as
		// U+FFFD, which IAM refuses).
		if !lambdaFnRE.MatchString(fn) || checkResource(fn) != nil {
			return optErr("LambdaInvoke.FunctionArn", fn, "the ARN of one Lambda function (arn:%s:lambda:REGION:ACCOUNT:function:NAME[:VERSION or ALIAS]), without wildcards", b.partition)
		}
		b.add("InvokeFunction", []string{"lambda:InvokeFunction"}, []string{fn},
			"Invokes the function once per task. Lambda authorizes the call against the ARN the job passes (function, version or alias), so the policy names exactly that ARN; AWS's example uses Resource \"*\", which is not needed. The function reads and writes objects with its own execution role: this role needs no access to them.",
			SrcInvokeLambda, SrcLambdaResources)
	}
	keys, err := b.keys("", "")
	if err != nil {
		return err
	}
	b.kms(keys, []string{"kms:Decrypt", "kms:GenerateDataKey"}, kmsWhy, SrcRolePolicies)
	return nil
}

// perObject adds an object action on the plan's objects and its
// version-specific twin on the buckets whose shards list version ids.
func (b *builder) perObject(sid, action, vsid, vaction, what string, sources ...string) {
	b.add(sid, []string{action}, b.objects(false), what+".", sources...)
	if b.anyVersioned() {
		b.add(vsid, []string{vaction}, b.objects(true),
			what+" version: the shards of these buckets list version ids, and AWS grants the version-specific action only for them.", sources...)
	}
}

func (b *builder) lockConfig() {
	b.add("ReadObjectLockConfiguration", []string{"s3:GetBucketObjectLockConfiguration"}, b.buckets(),
		"Reads each bucket's Object Lock configuration, as AWS's Object Lock policies grant (a bucket-level action: its resource is the bucket ARN).", SrcRolePolicies)
}

// copy adds the statements of S3PutObjectCopy: read the plan's objects,
// write the destination.
func (b *builder) copy(c *types.S3CopyObjectOperation) error {
	tagsCopied := c.NewObjectTagging == nil
	read := []string{"s3:GetObject", "s3:GetObjectAcl"}
	vread := []string{"s3:GetObjectVersion", "s3:GetObjectVersionAcl"}
	why := "Reads each source object listed in the manifest (CopyObject needs s3:GetObject on the source) and, as AWS's copy policy grants, its ACL"
	if tagsCopied {
		read = append(read, "s3:GetObjectTagging")
		vread = append(vread, "s3:GetObjectVersionTagging")
		why += " and its tags: without NewObjectTagging, the copy takes the source's tags."
	} else {
		why += ". NewObjectTagging replaces the tags, so the source's tags are not read."
	}
	b.add("ReadSourceObjects", read, b.objects(false), why, SrcRolePolicies, SrcCopyObject, SrcCopyOperation)
	if b.anyVersioned() {
		b.add("ReadSourceObjectVersions", vread, b.objects(true),
			"Reads the source versions the manifest names: the shards of these buckets list version ids, and AWS grants the version-specific actions only for them.",
			SrcRolePolicies)
	}
	b.add("ListSourceBuckets", []string{"s3:ListBucket"}, b.buckets(),
		"Lets a source key that no longer exists fail as 404 NoSuchKey instead of 403 AccessDenied, so the completion report tells the two apart; AWS's copy policy grants s3:ListBucket on the source bucket.",
		SrcRolePolicies, "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html")

	target := *c.TargetResource
	prefix := ""
	if c.TargetKeyPrefix != nil {
		prefix = *c.TargetKeyPrefix
	}
	var destKey string
	if m := s3BucketARNRE.FindStringSubmatch(target); m != nil {
		if m[1] != b.partition {
			return optErr("S3PutObjectCopy.TargetResource", target, "partition %q, but the report bucket is in %q", m[1], b.partition)
		}
		lit, cut := literal(prefix)
		if cut {
			b.notes = append(b.notes, "TargetKeyPrefix holds '*', '?', '$' or characters IAM does not take in a policy; the destination ARN stops before them (wider, never narrower).")
		}
		destKey = b.objectARN(m[2], lit)
		write := []string{"s3:PutObject", "s3:PutObjectAcl"}
		why := "Writes the copies into the destination bucket"
		if prefix != "" {
			why += " under TargetKeyPrefix"
		}
		why += ": s3:PutObject, and s3:PutObjectAcl as AWS's copy policy grants"
		if c.NewObjectTagging == nil || len(c.NewObjectTagging) > 0 {
			write = append(write, "s3:PutObjectTagging")
			why += "; s3:PutObjectTagging to set the copy's tags"
		}
		if c.ObjectLockMode != "" {
			write = append(write, "s3:PutObjectRetention")
			why += "; s3:PutObjectRetention for the ObjectLockMode and ObjectLockRetainUntilDate asked"
		}
		if c.ObjectLockLegalHoldStatus != "" {
			write = append(write, "s3:PutObjectLegalHold")
			why += "; s3:PutObjectLegalHold for the ObjectLockLegalHoldStatus asked"
		}
		b.add("WriteDestination", write, []string{destKey}, why+".", SrcRolePolicies, SrcCopyObject, SrcS3Actions)
	} else if m := expressARNRE.FindStringSubmatch(target); m != nil {
		if m[1] != b.partition {
			return optErr("S3PutObjectCopy.TargetResource", target, "partition %q, but the report bucket is in %q", m[1], b.partition)
		}
		b.add("WriteDestination", []string{"s3express:CreateSession"}, []string{target},
			"Writes the copies into the destination directory bucket: CopyObject into a directory bucket needs s3express:CreateSession on it (directory buckets take no ACLs and no tags; give NewObjectTagging [] when the sources have tags).",
			SrcCopyObject, SrcCopyOperation)
	} else {
		return optErr("S3PutObjectCopy.TargetResource", target, "a general purpose bucket ARN (arn:aws:s3:::bucket) or a directory bucket ARN (arn:aws:s3express:region:account:bucket/name--zone--x-s3)")
	}
	opKey := ""
	if c.SSEAwsKmsKeyId != nil {
		opKey = *c.SSEAwsKmsKeyId
	}
	keys, err := b.keys("S3PutObjectCopy.SSEAwsKmsKeyId", opKey)
	if err != nil {
		return err
	}
	why = kmsWhy
	if opKey != "" {
		why += " SSEAwsKmsKeyId encrypts the copies: writing an SSE-KMS object needs kms:GenerateDataKey on its key, and a copy done in parts kms:Decrypt too."
	}
	b.kms(keys, []string{"kms:Decrypt", "kms:GenerateDataKey"}, why, SrcRolePolicies, "https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html")
	return nil
}

func (b *builder) updateEncryption(u *types.S3UpdateObjectEncryptionOperation) error {
	b.add("UpdateObjectEncryption", []string{"s3:GetObject", "s3:PutObject", "s3:UpdateObjectEncryption"}, b.objects(false),
		"Changes the server-side encryption of each object listed in the manifest, as AWS's Update object encryption policy grants.", SrcRolePolicies)
	if b.anyVersioned() {
		b.add("ReadObjectVersions", []string{"s3:GetObjectVersion"}, b.objects(true),
			"Reads the object versions the manifest names (its shards list version ids).", SrcRolePolicies)
	}
	keys, err := b.keys("S3UpdateObjectEncryption.ObjectEncryption.SSEKMS.KMSKeyArn", *u.ObjectEncryption.SSEKMS.KMSKeyArn)
	if err != nil {
		return err
	}
	b.kms(keys, []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"},
		"Uses the new key (KMSKeyArn) and the keys given with "+b.name("KMSKeyARNs")+", with the actions AWS's Update object encryption policy grants (its kms:ReEncrypt* is written out as kms:ReEncryptFrom and kms:ReEncryptTo, the two actions it matches). The key policy must also allow the role.",
		SrcRolePolicies)
	return nil
}
