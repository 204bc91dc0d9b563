package auth

import "errors"

// ErrInvalidToken is wrapped by every refusal of a bearer token, whatever the reason.
var ErrInvalidToken = errors.New("invalid token")
