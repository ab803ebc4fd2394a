package seal

// Test hooks that plant the bugs the tests must catch. They exist only in
// the test binary.

// FixNonce makes l seal every state with the same nonce: the nonce-reuse
// bug.
func FixNonce(l *Layer, nonce byte) {
	l.nonce = func(b []byte) {
		for i := range b {
			b[i] = nonce
		}
	}
}

// Unbind makes l leave the session ID out of the additional data: the
// bug of a ciphertext not bound to its session.
func Unbind(l *Layer) { l.unbound = true }

// NonceOf returns the nonce of a sealed blob (nil if it is too short).
func NonceOf(blob []byte) []byte {
	if len(blob) < headerLen+nonceLen {
		return nil
	}
	return blob[headerLen : headerLen+nonceLen]
}
