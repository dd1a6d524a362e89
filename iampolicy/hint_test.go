package iampolicy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func TestAccessDeniedHint(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("creating the job of shard x: %w", &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}), true},
		{&smithy.GenericAPIError{Code: "AccessDeniedException"}, true},
		{&smithy.GenericAPIError{Code: "BadRequestException", Message: "Reading the manifest is forbidden: AccessDenied"}, true},
		{&smithy.GenericAPIError{Code: "TooManyRequestsException"}, false},
		{errors.New("connection refused"), false},
		{nil, false},
	} {
		hint, ok := AccessDeniedHint(c.err)
		if ok != c.want || ok != strings.Contains(hint, "iam-policy") {
			t.Errorf("%v: hint %q, %v; want %v", c.err, hint, ok, c.want)
		}
	}
}
