package domain

// ResealReport is what one kind of sealed value's rotation did.
type ResealReport struct {
	// Resealed counts the values now sealed by the current key.
	Resealed int
	// Failed lists the values left as they were, because they did not open; the rotation went
	// on past them, and a run after the cause is fixed picks them up.
	Failed []ResealFailure
}

// ResealFailure is one value a rotation could not re-seal: its row id, the key that sealed
// it, and why (no value, no secret in it).
type ResealFailure struct {
	ID    string
	KeyID string
	Err   error
}

// A Resealer opens a value sealed by key keyID with associated data made from the row, and
// seals it again with the current key, returning the new ciphertext.
type Resealer func(keyID string, sealed []byte) ([]byte, error)
