package main

import (
	"fmt"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// s3StatsLine sums up a command's S3 requests and their retries by
// cause, for its summary: "S3: 2,113 requests, 97 retried (throttled 23,
// server errors 25, connection 28, truncated 21)". It is empty when the
// command made no S3 request.
func s3StatsLine(s objio.RequestStats) string {
	if s.Requests == 0 {
		return ""
	}
	if s.Retries == 0 {
		return fmt.Sprintf("S3: %s requests, none retried", humanCount(s.Requests))
	}
	var causes []string
	for _, c := range []struct {
		name string
		n    int64
	}{{"throttled", s.Throttled}, {"server errors", s.ServerErrors}, {"connection", s.Connection}, {"truncated", s.Truncated}, {"other", s.Other}} {
		if c.n > 0 {
			causes = append(causes, c.name+" "+humanCount(c.n))
		}
	}
	return fmt.Sprintf("S3: %s requests, %s retried (%s)", humanCount(s.Requests), humanCount(s.Retries), strings.Join(causes, ", "))
}
