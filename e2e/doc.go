// Package e2e holds vecron's end-to-end tests: the functions run in process against real
// PostgreSQL and NATS JetStream, jobs are created through the REST API, and their requests land
// on a local HTTP target.
package e2e
