package scaleout

// SetScatterBuffer sets the rows a scatter slice buffers, until restore.
func SetScatterBuffer(n int) (restore func()) {
	old := scatterBufferRows
	scatterBufferRows = n
	return func() { scatterBufferRows = old }
}
