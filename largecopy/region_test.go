package largecopy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestSourceInAnotherRegion: a source bucket that S3 redirects to its
// region (301 with x-amz-bucket-region) is read again there, and its
// region remembered for the next calls.
func TestSourceInAnotherRegion(t *testing.T) {
	var mu sync.Mutex
	var scopes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		mu.Lock()
		scopes = append(scopes, auth[strings.Index(auth, "/")+1:strings.Index(auth, "/s3/")])
		mu.Unlock()
		if !strings.Contains(auth, "/eu-west-1/s3/") {
			w.Header().Set("X-Amz-Bucket-Region", "eu-west-1")
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Content-Length", "7")
		w.Header().Set("ETag", `"e"`)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	cl := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1})
	h := mustHandler(t, Options{Client: cl})
	for range 2 {
		var out *s3.HeadObjectOutput
		err := h.sourceCall("src", func(opts ...func(*s3.Options)) error {
			var err error
			out, err = cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("src"), Key: aws.String("k")}, opts...)
			return err
		})
		if err != nil || aws.ToInt64(out.ContentLength) != 7 {
			t.Fatalf("HeadObject: %+v, %v", out, err)
		}
	}
	if len(scopes) != 3 ||
		!strings.HasSuffix(scopes[0], "/us-east-1") || !strings.HasSuffix(scopes[1], "/eu-west-1") || !strings.HasSuffix(scopes[2], "/eu-west-1") {
		t.Errorf("signed for %q, want us-east-1 then eu-west-1 twice", scopes)
	}
}
