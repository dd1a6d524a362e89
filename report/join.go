package report

// recordSort is all that report --plan's join needs of an external sort:
// add records of any size, then read them back in order, in bounded
// memory. newRecordSort is the one place that picks the implementation
// (recSorter of extsort.go today), so that it can be swapped for a shared
// external-sort package without touching the join.
type recordSort interface {
	// add copies rec into the sort; the error wraps ErrSpill.
	add(rec []byte) error
	// iter returns the records in order; the sort takes no more records.
	iter() (recordIter, error)
	// close removes the sort's temporary files (iterators first).
	close() error
}

// recordIter reads a sort's records in order.
type recordIter interface {
	// next moves to the next record: false at the end or on an error.
	next() bool
	// record is the current record, valid until the next call of next.
	record() []byte
	// err is the error that stopped next, if any.
	err() error
	close()
}

// newRecordSort returns an external sort ordering records by cmp (stable:
// equal records keep the order they were added in), holding up to mem
// bytes of records in memory before it spills sorted runs to dir ("" for
// the system's temporary folder).
func newRecordSort(dir string, mem int, cmp func(a, b []byte) int) recordSort {
	return recSortAdapter{newRecSorter(dir, mem, cmp)}
}

type recSortAdapter struct{ s *recSorter }

func (a recSortAdapter) add(rec []byte) error { return a.s.add(rec) }
func (a recSortAdapter) close() error         { return a.s.close() }

func (a recSortAdapter) iter() (recordIter, error) {
	it, err := a.s.iter()
	if err != nil {
		return nil, err
	}
	return recIterAdapter{it}, nil
}

type recIterAdapter struct{ it *recIter }

func (a recIterAdapter) next() bool     { return a.it.next() }
func (a recIterAdapter) record() []byte { return a.it.rec }
func (a recIterAdapter) err() error     { return a.it.err }
func (a recIterAdapter) close()         { a.it.close() }
