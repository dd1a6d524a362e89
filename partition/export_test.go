package partition

// StreamPresorted lets the external tests turn the streaming of
// presorted input off, to compare with the sorted plan.
var StreamPresorted = &streamPresorted
