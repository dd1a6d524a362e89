package local

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// accessKeyRE is what an access key id may look like: it sits between
// slashes and commas in the Authorization header.
var accessKeyRE = regexp.MustCompile(`^[A-Za-z0-9._\-]{1,128}$`)

// ReadCredentialsFile reads the access keys serve accepts from path (see
// ParseCredentials). The file must not be readable or writable by group
// or others.
func ReadCredentialsFile(path string) (Credentials, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &CredentialsFileError{File: path, Reason: err.Error()}
	}
	if !st.Mode().IsRegular() {
		return nil, &CredentialsFileError{File: path, Reason: "not a regular file"}
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, &CredentialsFileError{File: path, Reason: fmt.Sprintf("holds secrets but has mode %04o: make it readable by its owner only (chmod 600)", st.Mode().Perm())}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &CredentialsFileError{File: path, Reason: err.Error()}
	}
	cs, err := ParseCredentials(path, data)
	if err != nil {
		return nil, err
	}
	return StaticCredentials(cs...), nil
}

// ParseCredentials parses a credentials file named name: one access key
// per line, the access key id and the secret access key separated by
// spaces or tabs; blank lines and lines starting with # are skipped. An id
// given twice, a line of another shape or a file without a key is an
// error naming the line (and no secret).
func ParseCredentials(name string, data []byte) ([]Credential, error) {
	var out []Credential
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, &CredentialsFileError{File: name, Line: n, Reason: fmt.Sprintf("expected ACCESS_KEY_ID SECRET_ACCESS_KEY, found %d fields", len(f))}
		}
		if !accessKeyRE.MatchString(f[0]) {
			return nil, &CredentialsFileError{File: name, Line: n, Reason: "the access key id must be 1-128 characters of A-Z a-z 0-9 . _ -"}
		}
		if prev, dup := seen[f[0]]; dup {
			return nil, &CredentialsFileError{File: name, Line: n, Reason: fmt.Sprintf("access key id %s is also on line %d", f[0], prev)}
		}
		seen[f[0]] = n
		out = append(out, Credential{AccessKeyID: f[0], SecretAccessKey: f[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, &CredentialsFileError{File: name, Line: n + 1, Reason: "line too long (over 64 KiB)"}
	}
	if len(out) == 0 {
		return nil, &CredentialsFileError{File: name, Reason: "no access key in it"}
	}
	return out, nil
}
