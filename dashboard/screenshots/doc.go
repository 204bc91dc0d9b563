// Package screenshots takes the dashboard's screenshots in docs/img: `make screenshots` runs its
// test with -screenshots DIR against demo data in a schema of its own. It has no code to import.
package screenshots
