//go:build oracle

package main

// The execute-db-oracle build: the same function, able to run Oracle jobs, at about 14 MB more.
import _ "github.com/vecron/vecron/shared/sqljob/oracle"
