// Package auth holds vecron's credential primitives.
package auth
