package inventory

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
)

// deliveryLayout writes, under root (a folder or an s3:// bucket root),
// deliveries of one inventory configuration as S3 lays them out
// (docs/formats.md#delivery-layout): cfg/data/<folder>.csv.gz, cfg/<folder>/manifest.json
// and manifest.checksum, cfg/hive/dt=…/symlink.txt. Delivery i holds i+1
// rows. files[].key is relative to root, the destination bucket dest.
type deliveryLayout struct {
	t          testing.TB
	root, dest string
	cfg        string        // cfg folder, relative to root
	oc         *objio.Client // writes the files (nil for local ones)
}

func (l *deliveryLayout) put(rel string, data []byte) {
	l.t.Helper()
	loc := objio.Join(l.root, rel)
	if !objio.IsS3(loc) {
		if err := os.MkdirAll(filepath.Dir(loc), 0o755); err != nil {
			l.t.Fatal(err)
		}
	}
	if err := l.oc.WriteFileAtomic(context.Background(), loc, data); err != nil {
		l.t.Fatal(err)
	}
}

// delivery writes the delivery folder (2024-11-01T01-00Z) with rows
// rows; withManifest false writes its checksum only (being delivered).
func (l *deliveryLayout) delivery(folder string, rows int, withManifest bool) {
	l.t.Helper()
	var csv strings.Builder
	for i := range rows {
		fmt.Fprintf(&csv, "src,%s/k%d,%d\n", folder, i, i+1)
	}
	data := gz(l.t, csv.String())
	key := l.cfg + "/data/" + folder + ".csv.gz"
	l.put(key, data)
	sum := md5.Sum(data)
	raw, _ := json.Marshal(map[string]any{"sourceBucket": "src", "destinationBucket": "arn:aws:s3:::" + l.dest, "version": "2016-11-30",
		"creationTimestamp": "1730422800000", "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size",
		"files": []any{map[string]any{"key": key, "size": len(data), "MD5checksum": hex.EncodeToString(sum[:])}}})
	msum := md5.Sum(raw)
	l.put(l.cfg+"/"+folder+"/manifest.checksum", []byte(hex.EncodeToString(msum[:])+"\n"))
	if withManifest {
		l.put(l.cfg+"/"+folder+"/manifest.json", raw)
	}
	dt := "dt=" + strings.NewReplacer("T", "-", "Z", "").Replace(folder)
	l.put(l.cfg+"/hive/"+dt+"/symlink.txt", []byte("s3://"+l.dest+"/"+key+"\n"))
}

// rowsOf opens the chosen delivery and counts its rows.
func rowsOf(t *testing.T, oc *objio.Client, manifest string) int {
	t.Helper()
	r, err := Open(context.Background(), manifest, ReaderOptions{IO: oc})
	if err != nil {
		t.Fatalf("opening %s: %v", manifest, err)
	}
	n := 0
	if err := r.Scan(context.Background(), func(rec arrow.RecordBatch) error { n += int(rec.NumRows()); return nil }); err != nil {
		t.Fatalf("reading %s: %v", manifest, err)
	}
	return n
}

// findDeliveryCases runs the cases common to a local copy and S3: three
// deliveries, the newest still being written.
func findDeliveryCases(t *testing.T, oc *objio.Client, root string) {
	ctx := context.Background()
	l := &deliveryLayout{t: t, root: root, dest: "inventory-dest", cfg: "inv/src/cfg-1", oc: oc}
	if objio.IsS3(root) {
		l.dest, _, _ = objio.ParseS3(root)
	}
	l.delivery("2024-11-01T01-00Z", 1, true)
	l.delivery("2024-11-02T01-00Z", 2, true)
	l.delivery("2024-11-02T13-30Z", 3, true)
	l.delivery("2024-11-03T01-00Z", 4, false)
	cfg := objio.Join(root, l.cfg)
	for _, tc := range []struct {
		name, loc, date, folder, how string
		rows                         int
	}{
		{"newest", cfg + "/", "", "2024-11-02T13-30Z", "newest", 3},
		{"newest, no slash", cfg, "", "2024-11-02T13-30Z", "newest", 3},
		{"hive folder", cfg + "/hive/", "", "2024-11-02T13-30Z", "newest", 3},
		{"day", cfg, "2024-11-02", "2024-11-02T13-30Z", "date", 3},
		{"folder name", cfg, "2024-11-02T01-00Z", "2024-11-02T01-00Z", "date", 2},
		{"RFC 3339", cfg, "2024-11-01T01:00:00Z", "2024-11-01T01-00Z", "date", 1},
		{"Hive date", cfg, "2024-11-01-01-00", "2024-11-01T01-00Z", "date", 1},
		{"delivery folder", cfg + "/2024-11-01T01-00Z/", "", "2024-11-01T01-00Z", "folder", 1},
		{"symlink.txt", cfg + "/hive/dt=2024-11-02-01-00/symlink.txt", "", "2024-11-02T01-00Z", "hive", 2},
		{"dt= folder", cfg + "/hive/dt=2024-11-01-01-00", "", "2024-11-01T01-00Z", "hive", 1},
		{"manifest", cfg + "/2024-11-02T01-00Z/manifest.json", "", "", "named", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := FindDelivery(ctx, oc, tc.loc, tc.date)
			if err != nil {
				t.Fatal(err)
			}
			if d.Folder != tc.folder || d.How != tc.how {
				t.Errorf("chose %+v, want folder %s by %s", d, tc.folder, tc.how)
			}
			if tc.how == "newest" && (d.Deliveries != 4 || strings.Join(d.Skipped, ",") != "2024-11-03T01-00Z") {
				t.Errorf("newest: %+v; want 4 deliveries, the one being written skipped", d)
			}
			if n := rowsOf(t, oc, d.Manifest); n != tc.rows {
				t.Errorf("%s holds %d rows, want %d", d.Manifest, n, tc.rows)
			}
		})
	}
	for _, tc := range []struct {
		name, loc, date string
		err             error
		says            string
	}{
		{"no such date", cfg, "2023-01-01", ErrNoDelivery, "4 deliveries run from 2024-11-01T01-00Z to 2024-11-03T01-00Z"},
		{"only the one being written", cfg, "2024-11-03", ErrNoDelivery, "2024-11-03T01-00Z hold no manifest.json"},
		{"no deliveries", objio.Join(root, "inv/src") + "/", "", ErrNoDelivery, "no delivery folder"},
		{"bad date", cfg, "yesterday", nil, "expected 2024-11-01"},
		{"date with a manifest", cfg + "/2024-11-02T01-00Z/manifest.json", "2024-11-02", nil, "names one delivery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FindDelivery(ctx, oc, tc.loc, tc.date)
			if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("FindDelivery(%s, %q) = %v; want %v saying %q", tc.loc, tc.date, err, tc.err, tc.says)
			}
		})
	}
	// A symlink.txt that does not list the manifest's data files.
	l.put(l.cfg+"/hive/dt=2024-11-02-13-30/symlink.txt", []byte("s3://"+l.dest+"/"+l.cfg+"/data/2024-11-01T01-00Z.csv.gz\n"))
	if _, err := FindDelivery(ctx, oc, cfg+"/hive/dt=2024-11-02-13-30/symlink.txt", ""); !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), "symlink.txt:1") {
		t.Errorf("mismatched symlink.txt: %v", err)
	}
}

func TestFindDeliveryLocal(t *testing.T) {
	findDeliveryCases(t, nil, t.TempDir())
}

func TestFindDeliveryS3(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	findDeliveryCases(t, oc, "s3://"+bucket)
}

// TestLeastPrivilegeDelivery reads an S3 delivery with a role that has
// s3:GetObject but not s3:ListBucket (403 for missing keys, listing
// refused): the named manifest is read, its data files are read in the
// destination bucket without probing, a missing manifest.checksum leaves
// it unverified; finding the newest delivery says that listing is needed
// and how to name the manifest instead.
func TestLeastPrivilegeDelivery(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	l := &deliveryLayout{t: t, root: "s3://" + bucket, dest: bucket, cfg: "inv/src/cfg-1", oc: oc}
	l.delivery("2024-11-01T01-00Z", 5, true)
	l.delivery("2024-11-02T01-00Z", 6, true)
	if err := oc.Remove(ctx, "s3://"+bucket+"/inv/src/cfg-1/2024-11-02T01-00Z/manifest.checksum"); err != nil {
		t.Fatal(err)
	}
	cfg := objiotest.Config(t)
	p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{NoListBucket: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg.EndpointURL = p.URL
	oc = objio.New(cfg)
	l.oc = oc

	base := "s3://" + bucket + "/inv/src/cfg-1"
	if n := rowsOf(t, oc, base+"/2024-11-01T01-00Z/manifest.json"); n != 5 {
		t.Errorf("%d rows, want 5", n)
	}
	m, err := OpenManifest(ctx, base+"/2024-11-02T01-00Z/manifest.json", ManifestOptions{IO: oc})
	if err != nil || m.ChecksumVerified || m.Files[0].Location != "s3://"+bucket+"/inv/src/cfg-1/data/2024-11-02T01-00Z.csv.gz" {
		t.Fatalf("manifest without a readable checksum: %+v, %v", m, err)
	}
	before := p.Counts().Denied
	if n := rowsOf(t, oc, base+"/2024-11-02T01-00Z/manifest.json"); n != 6 {
		t.Errorf("%d rows, want 6", n)
	}
	// Refused: the HEAD of the missing manifest.checksum and the GET of
	// one byte that reads the error code a HEAD's answer lacks; nothing
	// else (no probing for the data file).
	if d := p.Counts().Denied - before; d != 2 {
		t.Errorf("%d requests refused reading a delivery: want 2, for its missing manifest.checksum", d)
	}
	_, err = FindDelivery(ctx, oc, base+"/", "")
	var le *DeliveryListError
	if !errors.Is(err, objio.ErrAccessDenied) || !strings.Contains(err.Error(), "s3:ListBucket") ||
		!errors.As(err, &le) || le.Example != base+"/YYYY-MM-DDTHH-MMZ/manifest.json" || !strings.Contains(err.Error(), le.Example) {
		t.Errorf("finding the newest delivery without s3:ListBucket: %v", err)
	}
	// Naming the delivery needs no listing.
	if d, err := FindDelivery(ctx, oc, base+"/2024-11-02T01-00Z/", ""); err != nil || d.Folder != "2024-11-02T01-00Z" {
		t.Errorf("delivery folder without s3:ListBucket: %+v, %v", d, err)
	}
	if d, err := FindDelivery(ctx, oc, base+"/hive/dt=2024-11-01-01-00/symlink.txt", ""); err != nil || d.Folder != "2024-11-01T01-00Z" {
		t.Errorf("symlink.txt without s3:ListBucket: %+v, %v", d, err)
	}
	// A data file that is not there is named, with the 403 explained.
	raw, _ := json.Marshal(map[string]any{"sourceBucket": "src", "destinationBucket": "arn:aws:s3:::" + bucket, "fileFormat": "CSV",
		"fileSchema": "Bucket, Key, Size", "files": []any{map[string]any{"key": "inv/src/cfg-1/data/gone.csv.gz", "size": 10}}})
	l.put("inv/src/cfg-1/2024-11-04T01-00Z/manifest.json", raw)
	_, err = readAll(t, base+"/2024-11-04T01-00Z/manifest.json", ReaderOptions{IO: oc})
	if !errors.Is(err, objio.ErrAccessDenied) || !strings.Contains(err.Error(), "gone.csv.gz") || !strings.Contains(err.Error(), "s3:ListBucket") {
		t.Errorf("a missing data file under least privilege: %v", err)
	}
}
