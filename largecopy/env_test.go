package largecopy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestEnvOptions: the function's environment becomes Options; a bad value
// names its variable.
func TestEnvOptions(t *testing.T) {
	for _, tt := range []struct {
		env     map[string]string
		want    Options
		wantErr string
	}{
		{env: map[string]string{}, want: Options{Arguments: map[string]string{}}},
		{env: map[string]string{EnvPartSize: "5242880", EnvConcurrency: "2", "TargetResource": "arn:aws:s3:::dst", "Unrelated": "x"},
			want: Options{PartSize: 5 << 20, Concurrency: 2, Arguments: map[string]string{"TargetResource": "arn:aws:s3:::dst"}}},
		{env: map[string]string{EnvPartSize: "5MiB"}, wantErr: EnvPartSize + `="5MiB"`},
		{env: map[string]string{EnvPartSize: "5242879"}, wantErr: EnvPartSize + `="5242879": invalid largecopy options: PartSize 5242879 is not within`},
		{env: map[string]string{EnvPartSize: "5368709121"}, wantErr: "PartSize 5368709121 is not within"},
		{env: map[string]string{EnvConcurrency: "x"}, wantErr: EnvConcurrency + `="x"`},
		{env: map[string]string{EnvConcurrency: "257"}, wantErr: EnvConcurrency + `="257": invalid largecopy options: Concurrency 257 is not within`},
		{env: map[string]string{EnvConcurrency: "-1"}, wantErr: "Concurrency -1 is not within"},
	} {
		got, err := EnvOptions(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
		switch {
		case tt.wantErr != "":
			if err == nil || !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("env %v: err %v, want one saying %q", tt.env, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("env %v: %v", tt.env, err)
		case !reflect.DeepEqual(got, tt.want):
			t.Errorf("env %v: %+v, want %+v", tt.env, got, tt.want)
		}
	}
}
