package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestShardsOf(t *testing.T) {
	p := &Plan{
		Routes: []RouteTotal{{Route: "copy"}, {Route: "large"}, {Route: "restore"}},
		Shards: []Shard{{Path: "shards/copy/00000.csv", Route: "copy"}, {Path: "shards/copy/00001.csv", Route: "copy"},
			{Path: "shards/large/00000.csv", Route: "large"}, {Path: "shards/restore/00000.csv", Route: "restore"}},
	}
	paths := func(s []Shard) string {
		var out []string
		for _, sh := range s {
			out = append(out, sh.Path)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		routes []string
		want   string
	}{
		{nil, "shards/copy/00000.csv,shards/copy/00001.csv,shards/large/00000.csv,shards/restore/00000.csv"},
		{[]string{"restore", "copy"}, "shards/copy/00000.csv,shards/copy/00001.csv,shards/restore/00000.csv"},
		{[]string{"large"}, "shards/large/00000.csv"},
	} {
		got, err := p.ShardsOf(tc.routes...)
		if err != nil || paths(got) != tc.want {
			t.Errorf("ShardsOf(%v) = %s, %v; want %s (plan order)", tc.routes, paths(got), err, tc.want)
		}
	}
	_, err := p.ShardsOf("copy", "delete")
	if !errors.Is(err, ErrRouteNotInPlan) || !strings.Contains(err.Error(), `"delete"`) || !strings.Contains(err.Error(), "copy, large, restore") {
		t.Errorf("unknown route: %v", err)
	}
}
