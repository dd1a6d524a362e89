package iampolicy

import (
	"fmt"
	"io"
	"regexp"
	"strings"
)

// DefaultRoleName is the role name WriteText's commands use when none is
// given.
const DefaultRoleName = "s3batchkit-batch-operations"

var (
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	policyNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
)

// DefaultPolicyName is the inline policy name for an operation:
// s3batchkit-<operation name>.
func DefaultPolicyName(operation string) string { return "s3batchkit-" + operation }

// CheckNames checks a role name (1-64) and an inline policy name (1-128)
// as IAM takes them: letters, digits and _+=,.@- [SrcPutRolePolicy].
func CheckNames(role, policy string) error {
	if !roleNameRE.MatchString(role) {
		return optErr("RoleName", role, "1 to 64 letters, digits and _+=,.@-")
	}
	if !policyNameRE.MatchString(policy) {
		return optErr("PolicyName", policy, "1 to 128 letters, digits and _+=,.@-")
	}
	return nil
}

// Commands returns the two AWS CLI commands that create the role and put
// its permissions policy, with the policies inline (single-quoted for a
// POSIX shell).
func (r *Result) Commands(role, policy string) []string {
	return []string{
		fmt.Sprintf("aws iam create-role --role-name %s --assume-role-policy-document %s", role, shellQuote(string(r.TrustPolicy.Compact()))),
		fmt.Sprintf("aws iam put-role-policy --role-name %s --policy-name %s --policy-document %s", role, policy, shellQuote(string(r.PermissionsPolicy.Compact()))),
	}
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// WriteText writes the human form: both policies (indented JSON, ready
// for a file or the IAM console), why each statement is there with its
// sources, the notes, and the AWS CLI commands that create the role.
func (r *Result) WriteText(w io.Writer, role, policy string) error {
	var b strings.Builder
	b.WriteString("Trust policy (aws iam create-role --assume-role-policy-document):\n\n")
	b.Write(r.TrustPolicy.Indent())
	b.WriteString("\nPermissions policy (aws iam put-role-policy --policy-document):\n\n")
	b.Write(r.PermissionsPolicy.Indent())
	b.WriteString("\nWhy each statement is there:\n")
	for _, e := range r.Explanation {
		fmt.Fprintf(&b, "\n  %s (%s policy)\n", e.Statement, e.Policy)
		wrap(&b, e.Why, "    ", "    ", 78)
		for _, s := range e.Sources {
			fmt.Fprintf(&b, "    source: %s\n", s)
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range r.Notes {
			b.WriteString("\n")
			wrap(&b, n, "  - ", "    ", 78)
		}
	}
	b.WriteString("\nCreate the role:\n\n")
	for _, c := range r.Commands(role, policy) {
		b.WriteString(c)
		b.WriteString("\n\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap writes text in lines of at most width columns (longer words stay
// whole): the first line starts with first, the others with indent.
func wrap(b *strings.Builder, text, first, indent string, width int) {
	line, empty := first, true
	for _, word := range strings.Fields(text) {
		if !empty && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line, empty = indent, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	if !empty {
		b.WriteString(line + "\n")
	}
}
