// Package auth holds vecron's credential primitives: password hashes, the API's signed access
// tokens, opaque tokens (API and refresh tokens), the verification of OIDC access tokens and the
// login rate limit.
//
// Nothing here touches the database or writes a log line: the API's sign-in wires these
// pieces to its stores. Errors never carry the secret they are about — no password, hash,
// token or key appears in a message.
package auth
