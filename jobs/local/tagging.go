package local

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// Job tags (docs/formats.md#job-tags): given at CreateJob or by
// PutJobTagging, read by GetJobTagging, removed by DeleteJobTagging, and
// kept with the job's record in jobs.log.

// Limits of a job's tag set (PutJobTagging's API reference).
const (
	MaxJobTags        = 50
	MaxJobTagKeyLen   = 128 // characters
	MaxJobTagValueLen = 256 // characters
)

// tagCharsRE is the pattern of TagKeyString and TagValueString in the
// S3 Control model.
var tagCharsRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// validateTags checks a job's tag set: at most MaxJobTags tags
// (TooManyTagsException), distinct keys of 1-128 characters that do not
// start with the reserved aws:, values of 0-256 characters, both of the
// model's character set.
func validateTags(tags []types.S3Tag) error {
	if len(tags) > MaxJobTags {
		return apiErr(ErrTooManyTags, "a job has at most %d tags, got %d", MaxJobTags, len(tags))
	}
	seen := map[string]bool{}
	for i, t := range tags {
		if t.Key == nil || t.Value == nil {
			return apiErr(ErrBadRequest, "Tags[%d]: Key and Value are required", i)
		}
		k, v := *t.Key, *t.Value
		switch {
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return apiErr(ErrBadRequest, "Tags[%d]: not UTF-8", i)
		case k == "" || utf8.RuneCountInString(k) > MaxJobTagKeyLen:
			return apiErr(ErrBadRequest, "Tags[%d].Key must be 1 to %d characters, got %d", i, MaxJobTagKeyLen, utf8.RuneCountInString(k))
		case utf8.RuneCountInString(v) > MaxJobTagValueLen:
			return apiErr(ErrBadRequest, "Tags[%d].Value (key %q) must be at most %d characters, got %d", i, k, MaxJobTagValueLen, utf8.RuneCountInString(v))
		case !tagCharsRE.MatchString(k):
			return apiErr(ErrBadRequest, "Tags[%d].Key %q: only letters, digits, spaces and _ . : / = + - @ are allowed", i, k)
		case !tagCharsRE.MatchString(v):
			return apiErr(ErrBadRequest, "Tags[%d].Value (key %q): only letters, digits, spaces and _ . : / = + - @ are allowed", i, k)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return apiErr(ErrBadRequest, "Tags[%d].Key %q: the prefix aws: is reserved", i, k)
		case seen[k]:
			return apiErr(ErrBadRequest, "Tags[%d].Key %q is given twice: tag keys must be unique", i, k)
		}
		seen[k] = true
	}
	return nil
}

// copyTags returns a deep copy of tags; nil for none.
func copyTags(tags []types.S3Tag) []types.S3Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]types.S3Tag, len(tags))
	for i, t := range tags {
		out[i] = types.S3Tag{Key: aws.String(aws.ToString(t.Key)), Value: aws.String(aws.ToString(t.Value))}
	}
	return out
}

// GetJobTagging returns the tags of a job of account acct (none: an empty
// set).
func (e *Engine) GetJobTagging(acct, id string) ([]types.S3Tag, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.lookup(acct, id)
	if err != nil {
		return nil, err
	}
	return copyTags(j.rec.Tags), nil
}

// PutJobTagging replaces the tags of a job of account acct; an empty set
// removes them (as DeleteJobTagging does). Tags can be changed in any
// status, as on AWS.
func (e *Engine) PutJobTagging(acct, id string, tags []types.S3Tag) error {
	if err := validateTags(tags); err != nil {
		return err
	}
	return e.setTags(acct, id, copyTags(tags))
}

// DeleteJobTagging removes every tag of a job of account acct.
func (e *Engine) DeleteJobTagging(acct, id string) error {
	return e.setTags(acct, id, nil)
}

func (e *Engine) setTags(acct, id string, tags []types.S3Tag) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.lookup(acct, id)
	if err != nil {
		return err
	}
	prev := j.rec.Tags
	j.rec.Tags = tags
	if err := e.persist(j); err != nil {
		j.rec.Tags = prev // what is not on disk is not in force
		return err
	}
	return nil
}
