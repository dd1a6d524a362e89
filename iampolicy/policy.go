package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// PolicyVersion is the policy language version every document uses (the
// only one that knows policy variables such as ${aws:username}).
const PolicyVersion = "2012-10-17"

// ServicePrincipal is the principal that assumes a Batch Operations role.
const ServicePrincipal = "batchoperations.s3.amazonaws.com"

// MaxInlinePolicyChars is IAM's limit on the inline policies of one role,
// counted without whitespace [SrcIAMQuotas].
const MaxInlinePolicyChars = 10240

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Policy. Action and Resource are always
// lists; Principal is set in trust policies only, Resource in permission
// policies only.
type Statement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal *Principal                   `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// Principal names an AWS service principal.
type Principal struct {
	Service string `json:"Service"`
}

// Indent renders the policy as indented JSON with a final newline, as it
// is pasted into a file or the IAM console.
func (p Policy) Indent() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		// A Policy holds only strings, slices and maps of strings.
		panic(err)
	}
	return b.Bytes()
}

// Compact renders the policy as JSON without insignificant whitespace.
func (p Policy) Compact() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// JSON renders the result as one indented JSON document with a final
// newline: {"trust_policy", "permissions_policy", "explanation", "notes"}.
func (r *Result) JSON() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// Kind says which rules Check applies.
type Kind int

const (
	Trust       Kind = iota // a role's trust policy: Principal, no Resource
	Permissions             // an identity policy: Resource, no Principal
)

// Check verifies the shape of a policy as this package writes it: Version
// 2012-10-17; at least one statement; each with Effect Allow, a unique
// alphanumeric Sid (permissions), at least one "service:Action" action
// without a wildcard; for a trust policy a service Principal and no
// Resource; for a permissions policy no Principal and at least one
// resource, none of them "*" or a whole-service wildcard; and only the
// characters IAM accepts in a policy document (tab, LF, CR, U+0020 to
// U+00FF [SrcPutRolePolicy]). It names the first statement and field at
// fault.
func Check(p Policy, kind Kind) error {
	if p.Version != PolicyVersion {
		return fmt.Errorf("policy Version %q, expected %q", p.Version, PolicyVersion)
	}
	if len(p.Statement) == 0 {
		return fmt.Errorf("policy has no Statement")
	}
	sids := map[string]bool{}
	for i, s := range p.Statement {
		at := fmt.Sprintf("Statement[%d]", i)
		if s.Sid != "" {
			at += " (" + s.Sid + ")"
			for _, r := range s.Sid {
				if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
					return fmt.Errorf("%s: Sid must be alphanumeric", at)
				}
			}
			if sids[s.Sid] {
				return fmt.Errorf("%s: duplicate Sid", at)
			}
			sids[s.Sid] = true
		} else if kind == Permissions {
			return fmt.Errorf("%s: no Sid (every permission statement is explained by its Sid)", at)
		}
		if s.Effect != "Allow" {
			return fmt.Errorf("%s: Effect %q, expected Allow", at, s.Effect)
		}
		if len(s.Action) == 0 {
			return fmt.Errorf("%s: no Action", at)
		}
		for _, a := range s.Action {
			svc, name, ok := strings.Cut(a, ":")
			if !ok || svc == "" || name == "" || strings.ContainsAny(a, "*? ") {
				return fmt.Errorf("%s: Action %q: expected service:Action without wildcards", at, a)
			}
		}
		switch kind {
		case Trust:
			if s.Principal == nil || s.Principal.Service == "" {
				return fmt.Errorf("%s: no service Principal", at)
			}
			if len(s.Resource) != 0 {
				return fmt.Errorf("%s: a trust policy statement has no Resource", at)
			}
		case Permissions:
			if s.Principal != nil {
				return fmt.Errorf("%s: a permissions policy statement has no Principal", at)
			}
			if len(s.Resource) == 0 {
				return fmt.Errorf("%s: no Resource", at)
			}
			for _, r := range s.Resource {
				if err := checkResource(r); err != nil {
					return fmt.Errorf("%s: Resource %q: %v", at, r, err)
				}
			}
		}
	}
	for _, str := range p.strings() {
		if r, ok := badChar(str); ok {
			return fmt.Errorf("policy holds %U (in %q), which IAM does not accept in a policy document", r, str)
		}
	}
	return nil
}

// strings lists every string value of the policy (JSON would escape some
// characters IAM refuses, hiding them from a check of the encoded text).
func (p Policy) strings() []string {
	out := []string{p.Version}
	for _, s := range p.Statement {
		out = append(out, s.Sid, s.Effect)
		if s.Principal != nil {
			out = append(out, s.Principal.Service)
		}
		out = append(out, s.Action...)
		out = append(out, s.Resource...)
		for op, kv := range s.Condition {
			out = append(out, op)
			for k, v := range kv {
				out = append(out, k, v)
			}
		}
	}
	return out
}

// checkResource refuses "*" and ARNs whose resource part is only a
// wildcard (arn:aws:s3:::*, arn:aws:lambda:*:...:function:*).
func checkResource(r string) error {
	if r == "*" {
		return fmt.Errorf(`"*" grants every resource`)
	}
	parts := strings.SplitN(r, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" {
		return fmt.Errorf("not an ARN")
	}
	if strings.ContainsAny(parts[2]+parts[3]+parts[4], "*?") {
		return fmt.Errorf("wildcard in the service, Region or account")
	}
	res := parts[5]
	if res == "" || strings.Trim(res, "*?") == "" {
		return fmt.Errorf("the resource part is empty or only a wildcard")
	}
	if bucket, _, _ := strings.Cut(res, "/"); parts[2] == "s3" && strings.ContainsAny(bucket, "*?") {
		return fmt.Errorf("wildcard in the bucket name")
	}
	return nil
}

// badChar reports the first rune IAM refuses in a policy document.
func badChar(s string) (rune, bool) {
	for _, r := range s {
		if !policyRune(r) {
			return r, true
		}
	}
	return 0, false
}

func policyRune(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xFF)
}

// Size is the length IAM counts for a policy: its characters without
// whitespace outside strings, i.e. the compact JSON.
func (p Policy) Size() int { return len([]rune(string(p.Compact()))) }
