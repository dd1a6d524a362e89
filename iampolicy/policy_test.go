package iampolicy

import (
	"strings"
	"testing"
)

// TestCheckRefuses: Check catches each rule it states, so that the
// golden tests' use of it can fail.
func TestCheckRefuses(t *testing.T) {
	good := func() Policy {
		return Policy{Version: PolicyVersion, Statement: []Statement{{
			Sid: "ReadThings", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{"arn:aws:s3:::b/p/*"},
		}}}
	}
	if err := Check(good(), Permissions); err != nil {
		t.Fatalf("good policy refused: %v", err)
	}
	for _, c := range []struct {
		name    string
		edit    func(*Policy)
		mention string
	}{
		{"old version", func(p *Policy) { p.Version = "2008-10-17" }, "Version"},
		{"no statements", func(p *Policy) { p.Statement = nil }, "no Statement"},
		{"deny", func(p *Policy) { p.Statement[0].Effect = "Deny" }, "Effect"},
		{"no action", func(p *Policy) { p.Statement[0].Action = nil }, "no Action"},
		{"s3:*", func(p *Policy) { p.Statement[0].Action = []string{"s3:*"} }, "wildcards"},
		{"s3:Get*", func(p *Policy) { p.Statement[0].Action = []string{"s3:Get*"} }, "wildcards"},
		{"kms:ReEncrypt*", func(p *Policy) { p.Statement[0].Action = []string{"kms:ReEncrypt*"} }, "wildcards"},
		{"action without service", func(p *Policy) { p.Statement[0].Action = []string{"GetObject"} }, "service:Action"},
		{"resource star", func(p *Policy) { p.Statement[0].Resource = []string{"*"} }, "every resource"},
		{"all buckets", func(p *Policy) { p.Statement[0].Resource = []string{"arn:aws:s3:::*"} }, "only a wildcard"},
		{"bucket wildcard", func(p *Policy) { p.Statement[0].Resource = []string{"arn:aws:s3:::b*/x"} }, "bucket name"},
		{"region wildcard", func(p *Policy) {
			p.Statement[0].Resource = []string{"arn:aws:lambda:*:111122223333:function:f"}
		}, "Region"},
		{"not an arn", func(p *Policy) { p.Statement[0].Resource = []string{"b/p/*"} }, "not an ARN"},
		{"no resource", func(p *Policy) { p.Statement[0].Resource = nil }, "no Resource"},
		{"principal in permissions", func(p *Policy) { p.Statement[0].Principal = &Principal{Service: "x"} }, "Principal"},
		{"no sid", func(p *Policy) { p.Statement[0].Sid = "" }, "no Sid"},
		{"bad sid", func(p *Policy) { p.Statement[0].Sid = "read-things" }, "alphanumeric"},
		{"duplicate sid", func(p *Policy) { p.Statement = append(p.Statement, p.Statement[0]) }, "duplicate"},
		{"character outside latin-1", func(p *Policy) { p.Statement[0].Resource = []string{"arn:aws:s3:::b/日本/*"} }, "U+65E5"},
		{"control character", func(p *Policy) { p.Statement[0].Resource = []string{"arn:aws:s3:::b/\x01/*"} }, "U+0001"},
	} {
		p := good()
		c.edit(&p)
		err := Check(p, Permissions)
		if err == nil || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: Check = %v, want an error mentioning %q", c.name, err, c.mention)
		}
	}
	trust := Policy{Version: PolicyVersion, Statement: []Statement{{Effect: "Allow", Principal: &Principal{Service: ServicePrincipal}, Action: []string{"sts:AssumeRole"}}}}
	if err := Check(trust, Trust); err != nil {
		t.Fatalf("good trust policy refused: %v", err)
	}
	trust.Statement[0].Resource = []string{"arn:aws:s3:::b"}
	if err := Check(trust, Trust); err == nil {
		t.Error("trust policy with a Resource accepted")
	}
	trust.Statement[0].Resource, trust.Statement[0].Principal = nil, nil
	if err := Check(trust, Trust); err == nil {
		t.Error("trust policy without a Principal accepted")
	}
}

func TestLiteral(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"logs/2024/", "logs/2024/"},
		{"a*b", "a"},
		{"a?b", "a"},
		{"cost-${aws:username}/", "cost-"},
		{"café/", "café/"},   // U+00E9 is in Latin-1
		{"日本/x", ""},         // not Latin-1
		{"tab\there", "tab"}, // a tab in a key is literal in S3 but has no place in an ARN
		{"", ""},
	} {
		got, cut := literal(c.in)
		if got != c.want || cut != (got != c.in) {
			t.Errorf("literal(%q) = %q, %v; want %q", c.in, got, cut, c.want)
		}
	}
	if got := minimalPrefixes([]string{"b/", "a/x", "a/", "b/y", "c"}); strings.Join(got, ",") != "a/,b/,c" {
		t.Errorf("minimalPrefixes = %q", got)
	}
	if got := minimalPrefixes([]string{"a/", ""}); len(got) != 1 || got[0] != "" {
		t.Errorf("minimalPrefixes with \"\" = %q", got)
	}
}

func TestWriteText(t *testing.T) {
	o := localOptions(t, "copy")
	o.AccountID = "111122223333"
	r, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.WriteText(&b, "batch-role", "copy-policy"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Trust policy (aws iam create-role --assume-role-policy-document):",
		`"aws:SourceAccount": "111122223333"`,
		"Permissions policy (aws iam put-role-policy --policy-document):",
		"ReadSourceObjects (permissions policy)",
		"source: " + SrcRolePolicies,
		"aws iam create-role --role-name batch-role --assume-role-policy-document '{\"Version\":\"2012-10-17\"",
		"aws iam put-role-policy --role-name batch-role --policy-name copy-policy --policy-document '{",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q", want)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "    ") && !strings.Contains(line, "source: ") && len(line) > 78 && strings.Contains(strings.TrimSpace(line), " ") {
			t.Errorf("explanation line over 78 columns: %q", line)
		}
	}
	if err := CheckNames("bad name", "p"); err == nil {
		t.Error("role name with a space accepted")
	}
	if err := CheckNames("r", strings.Repeat("p", 129)); err == nil {
		t.Error("129-character policy name accepted")
	}
	if q := shellQuote(`a'b`); q != `'a'\''b'` {
		t.Errorf("shellQuote = %s", q)
	}
}
