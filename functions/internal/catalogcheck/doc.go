// Package catalogcheck holds a test that starts the four functions into one metric registry, as
// vecron dev does, and holds what they register against shared/metric's catalog: the catalog
// lists no family that no function serves (docs/observability.md §6).
package catalogcheck
