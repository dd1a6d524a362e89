package optname

import "testing"

func TestName(t *testing.T) {
	flags := func(o string) string { return map[string]string{"Plan": "--plan"}[o] }
	for _, tc := range []struct {
		f            Func
		option, want string
	}{
		{nil, "Plan", "Plan"},
		{flags, "Plan", "--plan"},
		{flags, "Compare", "Compare"}, // not renamed: the API's name
	} {
		if got := Name(tc.f, tc.option); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.option, got, tc.want)
		}
	}
}
