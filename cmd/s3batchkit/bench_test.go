package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestParseCount(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1000000", 1_000_000, false},
		{"1_000_000", 1_000_000, false},
		{"1e6", 1_000_000, false},
		{"2.5e7", 25_000_000, false},
		{" 1e8 ", 100_000_000, false},
		{"0", 0, true},
		{"1.5", 0, true},
		{"-1e6", 0, true},
		{"many", 0, true},
	}
	for _, tt := range tests {
		got, err := parseCount(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseCount(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBenchFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // a flag the message names
	}{
		{"bad format", []string{"--formats", "avro"}, "--formats"},
		{"bad stage", []string{"--stages", "zip"}, "--stages"},
		{"nothing", []string{"--stages", "none"}, "--stages none"},
		{"runs", []string{"--runs", "0"}, "--runs"},
		{"plot without scale", []string{"--plot", "x.svg"}, "--plot"},
		{"plot not svg", []string{"--scale", "1e3", "--plot", "x.png"}, "--plot"},
		{"peer", []string{"--peer", "sqlite"}, "--peer"},
		{"note", []string{"--note", "x"}, "--note"},
		{"rows", []string{"--rows", "lots"}, "--rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), append([]string{"s3batchkit", "bench"}, tt.args...), &out, &errb)
			if code != exitUsage || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d naming %s", code, errb.String(), exitUsage, tt.want)
			}
		})
	}
}
