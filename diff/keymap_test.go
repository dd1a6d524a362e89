package diff

import (
	"errors"
	"testing"
)

func TestKeyMapRejectsAmbiguousRules(t *testing.T) {
	tests := []struct {
		name    string
		rules   []string
		wantErr bool
	}{
		{"one rule", []string{"a/=b/"}, false},
		{"disjoint", []string{"a/=x/", "b/=y/"}, false},
		{"whole bucket under a prefix", []string{"=new/"}, false},
		{"prefix removed", []string{"old/="}, false},
		{"nested source prefixes", []string{"a/=x/", "a/b/=y/"}, true},
		{"same source prefix twice", []string{"a/=x/", "a/=y/"}, true},
		{"nested target prefixes", []string{"a/=x/", "b/=x/y/"}, true},
		{"two rules onto one prefix", []string{"a/=x/", "b/=x/"}, true},
		{"empty source beside another", []string{"=x/", "a/=y/"}, true},
		{"source not UTF-8", []string{"a\xff/=x/"}, true},
		{"target not UTF-8", []string{"a/=\xc3/"}, true},
		{"UTF-8 both sides", []string{"été/=hiver/"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms []Mapping
			for _, r := range tt.rules {
				m, err := ParseMapping(r)
				if err != nil {
					t.Fatal(err)
				}
				ms = append(ms, m)
			}
			_, err := NewKeyMap(ms)
			if (err != nil) != tt.wantErr || err != nil && !errors.Is(err, ErrMap) {
				t.Errorf("NewKeyMap(%v) = %v, want error %v", tt.rules, err, tt.wantErr)
			}
		})
	}
	if _, err := ParseMapping("no-equals"); !errors.Is(err, ErrMap) {
		t.Errorf("ParseMapping without '=': %v", err)
	}
}

func TestKeyMapRoundTrip(t *testing.T) {
	km, err := NewKeyMap([]Mapping{{"legacy/", "archive/2019/"}, {"photos/", "media/img/"}, {"x", "y"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		src, dst string
		ok       bool
	}{
		{"legacy/a.txt", "archive/2019/a.txt", true},
		{"photos/2020/p.jpg", "media/img/2020/p.jpg", true},
		{"xyz", "yyz", true},
		{"other/k", "", false},
	} {
		got, ok := km.ToTarget(nil, []byte(tt.src))
		if ok != tt.ok || ok && string(got) != tt.dst {
			t.Errorf("ToTarget(%q) = %q, %v", tt.src, got, ok)
		}
		if km.CoversSource([]byte(tt.src)) != tt.ok {
			t.Errorf("CoversSource(%q) != %v", tt.src, tt.ok)
		}
		if !ok {
			continue
		}
		back, ok := km.ToSource(nil, got)
		if !ok || string(back) != tt.src {
			t.Errorf("ToSource(%q) = %q, %v; want %q", got, back, ok, tt.src)
		}
	}
	if _, ok := km.ToSource(nil, []byte("archive/2020/b")); ok {
		t.Error("a target key under no target prefix mapped back")
	}
}
