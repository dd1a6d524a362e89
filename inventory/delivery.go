package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

var (
	// ErrNoDelivery is returned when a configuration folder holds no
	// delivery (of the date asked for).
	ErrNoDelivery = errors.New("no inventory delivery")
	// ErrDeliveryDate is returned for a delivery date that cannot be
	// parsed, or that is given with a location naming one delivery.
	ErrDeliveryDate = errors.New("bad delivery date")
)

// Delivery is the inventory delivery FindDelivery chose.
type Delivery struct {
	// Manifest is the location of the delivery's manifest.json.
	Manifest string
	// Folder is the delivery's folder name (2024-11-01T01-00Z); empty
	// when a manifest.json was named.
	Folder string
	// How says how it was chosen: "named" (a manifest.json), "folder" (a
	// delivery folder), "newest", "date" (--inventory-date), or "hive"
	// (a symlink.txt or its dt= folder).
	How string
	// Deliveries is the number of deliveries the configuration folder
	// holds, when it was listed.
	Deliveries int
	// Skipped are newer delivery folders passed over because they hold
	// no manifest.json yet (a delivery being written).
	Skipped []string
}

var (
	deliveryRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z$`)
	hiveRE     = regexp.MustCompile(`^dt=(\d{4}-\d{2}-\d{2})-(\d{2})-(\d{2})$`)
)

// ParseDeliveryDate turns an --inventory-date value into the prefix of
// the delivery folder names it selects: a day (2024-11-01: the newest
// delivery of that UTC day), a delivery folder name (2024-11-01T01-00Z),
// a Hive partition (2024-11-01-01-00 or dt=2024-11-01-01-00), or an RFC
// 3339 time (2024-11-01T01:00:00Z, to the minute).
func ParseDeliveryDate(s string) (string, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Format(time.DateOnly) + "T", nil
	}
	if deliveryRE.MatchString(s) {
		return s, nil
	}
	if m := hiveRE.FindStringSubmatch("dt=" + strings.TrimPrefix(s, "dt=")); m != nil {
		return m[1] + "T" + m[2] + "-" + m[3] + "Z", nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format("2006-01-02T15-04Z"), nil
		}
	}
	return "", fmt.Errorf("%w %q: expected 2024-11-01, 2024-11-01T01-00Z (the delivery folder), 2024-11-01-01-00 (Hive) or 2024-11-01T01:00Z", ErrDeliveryDate, s)
}

// FindDelivery resolves what the user named as an inventory into one
// delivery's manifest.json (docs/formats.md#delivery-layout):
//
//   - a manifest.json (any *.json): itself;
//   - a delivery folder (…/2024-11-01T01-00Z/): its manifest.json;
//   - a Hive symlink.txt (…/hive/dt=2024-11-01-01-00/symlink.txt) or its
//     dt= folder: the manifest.json of the same delivery,
//     …/2024-11-01T01-00Z/manifest.json (symlink.txt carries no schema);
//     the data files symlink.txt lists must be those of the manifest;
//   - a configuration folder (…/source-bucket/config-id/, or a local
//     copy): the newest delivery whose manifest.json is there, or with
//     date (see ParseDeliveryDate) the newest of that date.
//
// In S3, a location that ends in "/" or whose last part has no ".json"
// or ".txt" suffix is a folder. Only a configuration folder is listed,
// which needs s3:ListBucket: when it is refused, the error says so and
// how to name the manifest instead. date is only for configuration
// folders. Every location is read or listed through oc.
func FindDelivery(ctx context.Context, oc *objio.Client, loc, date string) (Delivery, error) {
	var want string
	if date != "" {
		var err error
		if want, err = ParseDeliveryDate(date); err != nil {
			return Delivery{}, err
		}
	}
	folder, isFolder, err := asFolder(loc)
	if err != nil {
		return Delivery{}, err
	}
	named := func() error {
		if date != "" {
			return fmt.Errorf("%w: %s names one delivery; a date picks among the deliveries of a configuration folder (…/source-bucket/config-id/)", ErrDeliveryDate, loc)
		}
		return nil
	}
	base := baseName(folder)
	switch {
	case !isFolder && baseName(loc) == "symlink.txt":
		if err := named(); err != nil {
			return Delivery{}, err
		}
		return hiveDelivery(ctx, oc, loc)
	case !isFolder:
		if err := named(); err != nil {
			return Delivery{}, err
		}
		return Delivery{Manifest: loc, How: "named"}, nil
	case deliveryRE.MatchString(base):
		if err := named(); err != nil {
			return Delivery{}, err
		}
		return Delivery{Manifest: objio.Join(folder, "manifest.json"), Folder: base, How: "folder"}, nil
	case hiveRE.MatchString(base):
		if err := named(); err != nil {
			return Delivery{}, err
		}
		return hiveDelivery(ctx, oc, objio.Join(folder, "symlink.txt"))
	case base == "hive":
		folder = objio.Dir(folder)
	}
	return newestDelivery(ctx, oc, folder, want, date)
}

// asFolder says whether loc names a folder, and returns it without a
// trailing separator.
func asFolder(loc string) (string, bool, error) {
	if objio.IsS3(loc) {
		trimmed := strings.TrimRight(loc, "/")
		if _, key, err := objio.ParseS3(trimmed); err != nil {
			return "", false, err
		} else if key == "" {
			return trimmed, true, nil
		}
		b := baseName(trimmed)
		return trimmed, strings.HasSuffix(loc, "/") || !(strings.HasSuffix(b, ".json") || strings.HasSuffix(b, ".txt")), nil
	}
	st, err := os.Stat(loc)
	if err != nil {
		return loc, false, nil // opened as a file later, which names the error
	}
	return filepath.Clean(loc), st.IsDir(), nil
}

func baseName(loc string) string {
	if objio.IsS3(loc) {
		loc = strings.TrimRight(loc, "/")
		return loc[strings.LastIndexByte(loc, '/')+1:]
	}
	return filepath.Base(loc)
}

// newestDelivery lists the configuration folder cfg and picks the newest
// delivery folder whose name starts with want and that holds a
// manifest.json.
func newestDelivery(ctx context.Context, oc *objio.Client, cfg, want, date string) (Delivery, error) {
	names, err := oc.ListFolders(ctx, cfg)
	if err != nil {
		if errors.Is(err, objio.ErrAccessDenied) {
			return Delivery{}, &DeliveryListError{Folder: cfg, Example: objio.Join(cfg, "YYYY-MM-DDTHH-MMZ/manifest.json"), Err: err}
		}
		return Delivery{}, fmt.Errorf("listing the deliveries under %s: %w", cfg, err)
	}
	var all []string
	hive := false
	for _, n := range names {
		switch {
		case deliveryRE.MatchString(n):
			all = append(all, n)
		case n == "hive":
			hive = true
		}
	}
	if len(all) == 0 {
		what := "no delivery folder (YYYY-MM-DDTHH-MMZ/manifest.json)"
		if hive {
			what += "; its hive/ partitions are read through the manifest.json of the same delivery, which S3 writes beside them"
		}
		return Delivery{}, fmt.Errorf("%w: %s holds %s: name a configuration folder (…/source-bucket/config-id/), a delivery folder or a manifest.json", ErrNoDelivery, cfg, what)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(all)))
	d := Delivery{How: "newest", Deliveries: len(all)}
	if want != "" {
		d.How = "date"
	}
	var matching []string
	for _, n := range all {
		if !strings.HasPrefix(n, want) {
			continue
		}
		matching = append(matching, n)
		m := objio.Join(objio.Join(cfg, n), "manifest.json")
		ok, err := oc.Exists(ctx, m)
		if err != nil {
			return Delivery{}, err
		}
		if ok {
			d.Manifest, d.Folder = m, n
			return d, nil
		}
		d.Skipped = append(d.Skipped, n)
	}
	if len(matching) == 0 {
		return Delivery{}, fmt.Errorf("%w of %s under %s: its %d deliveries run from %s to %s", ErrNoDelivery, date, cfg, len(all), all[len(all)-1], all[0])
	}
	return Delivery{}, fmt.Errorf("%w under %s: the delivery folders %s hold no manifest.json (being written, or not copied)", ErrNoDelivery, cfg, strings.Join(d.Skipped, ", "))
}

// hiveDelivery maps a Hive symlink.txt to its delivery's manifest.json
// and checks that both list the same data files.
func hiveDelivery(ctx context.Context, oc *objio.Client, symlink string) (Delivery, error) {
	dt := baseName(objio.Dir(symlink))
	m := hiveRE.FindStringSubmatch(dt)
	hiveDir := objio.Dir(objio.Dir(symlink))
	if m == nil || baseName(hiveDir) != "hive" {
		return Delivery{}, &DataError{File: symlink, Offset: -1, Value: dt, Expected: "a Hive manifest at …/config-id/hive/dt=YYYY-MM-DD-HH-MM/symlink.txt", Err: ErrManifest}
	}
	folder := m[1] + "T" + m[2] + "-" + m[3] + "Z"
	manifest := objio.Join(objio.Join(objio.Dir(hiveDir), folder), "manifest.json")
	links, err := oc.ReadAll(ctx, symlink)
	if err != nil {
		return Delivery{}, fmt.Errorf("reading Hive manifest: %w", err)
	}
	raw, err := oc.ReadAll(ctx, manifest)
	if err != nil {
		return Delivery{}, fmt.Errorf("reading the manifest.json of Hive delivery %s (symlink.txt lists data files but no schema): %w", dt, err)
	}
	man, err := ParseManifest(raw)
	if err != nil {
		return Delivery{}, &DataError{File: manifest, Offset: -1, Err: err}
	}
	keys := make(map[string]bool, len(man.Files))
	for _, f := range man.Files {
		keys[f.Key] = true
	}
	seen := map[string]bool{}
	for i, line := range strings.Split(string(links), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		_, key, err := objio.ParseS3(line)
		if err != nil || !keys[key] || seen[key] {
			return Delivery{}, &DataError{File: symlink, Line: int64(i + 1), Offset: -1, Value: line,
				Expected: "the s3:// URL of a data file listed once in " + manifest, Err: ErrManifest}
		}
		seen[key] = true
	}
	if n := len(seen); n != len(keys) {
		return Delivery{}, &DataError{File: symlink, Offset: -1, Value: fmt.Sprintf("%d data files", n),
			Expected: fmt.Sprintf("the %d data files of %s", len(man.Files), manifest), Err: ErrManifest}
	}
	return Delivery{Manifest: manifest, Folder: folder, How: "hive"}, nil
}
