// Package migrations embeds vecron's PostgreSQL schema migrations (goose SQL files, applied in
// file-name order by the store on start).
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
