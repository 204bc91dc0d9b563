//go:build oracle

package main

import (
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/sqljob/oracle"
)

// dialects of the execute-db-oracle build: the same function, able to run Oracle jobs, at about
// 14 MB more.
func dialects() []sqljob.Dialect {
	return []sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL(), oracle.Dialect()}
}
