// Package sizecheck holds the test that keeps every function binary within its size budget
// (docs/observability.md §5): built as the images ship them, each is at most 30 MiB, and the
// api links no template execution by reflection, which would make the linker keep every
// exported method of every reachable type.
package sizecheck
