//go:build !oracle

package main

import "github.com/vecron/vecron/shared/sqljob"

// dialects of the slim build, which leaves out the Oracle driver's 14 MB: its Oracle jobs fail
// with a message naming the execute-db-oracle build.
func dialects() []sqljob.Dialect {
	return []sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL()}
}
