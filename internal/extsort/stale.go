package extsort

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// spillDirPrefix starts the name of a sort's spill folder, followed by the
// process id of its owner: s3batchkit-sort-<pid>-<random>.
const spillDirPrefix = "s3batchkit-sort-"

// newSpillDir creates the spill folder of this process in tmp, after
// removing the spill folders that killed processes left there (SIGKILL,
// out of memory, a power cut: Close never ran).
func newSpillDir(tmp string) (string, error) {
	removeStaleSpills(tmp)
	return os.MkdirTemp(tmp, fmt.Sprintf("%s%d-", spillDirPrefix, os.Getpid()))
}

// RemoveStaleSpills removes the spill folders that killed processes left
// in tmp ("" for os.TempDir()), as a sort does before its first spill:
// for a caller whose spill folder is one users look into (report's
// output folder), so that a run that does not spill cleans up too.
func RemoveStaleSpills(tmp string) { removeStaleSpills(tmp) }

// removeStaleSpills removes the spill folders in tmp whose owner process
// is gone. A folder is left alone when its owner may be alive (a live
// process with that id, possibly another one since ids are reused) or
// when its name carries no process id (an older version's). Errors are
// ignored: the cleanup is a courtesy, never a reason to fail a sort.
func removeStaleSpills(tmp string) {
	if tmp == "" {
		tmp = os.TempDir()
	}
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), spillDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == self || processAlive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(tmp, e.Name()))
	}
}
