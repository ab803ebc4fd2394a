// Package seal keeps session state encrypted and bound to its session: a
// layer over any store.Store with versions (store.Versioner) that seals
// every state it writes and opens every state it reads, so that a copy of
// the table (a backup, a replica, a leaked dump) holds no readable
// session, and a row edited, truncated, or moved to another session's ID
// or another table is detected instead of trusted.
//
// Each state is sealed with XChaCha20-Poly1305 under the ring's write key
// and a fresh random 24-byte nonce, into a blob of Overhead bytes more:
//
//	0x01 | key ID (4 bytes, big endian) | nonce (24 bytes) | ciphertext and tag
//
// The additional data authenticated with it is "hourglass/seal\x00",
// Options.Namespace, a NUL, the session ID the layer is given, and the
// blob's 5 header bytes: a blob opens only as the state of the session it
// was sealed for, in the namespace it was sealed in, under the key and
// format its header names. With hashid outermost (hashid over seal, the
// order Reseal needs), the ID the layer is given is the stored key, and
// ChangeID, Cycle and ChangeIDIf seal for the new ID. Versions, expiries,
// owners and lists pass through unchanged.
//
// Why XChaCha20-Poly1305 and not AES-256-GCM: a session store seals on
// every write, and GCM's 96-bit nonces, drawn at random, are safe for only
// about 2^32 messages per key (NIST SP 800-38D), which a site writing
// 10,000 sessions a second reaches in five days; XChaCha's 192-bit random
// nonces remove that bound, and with it the need to rotate keys by count.
// The price, measured by BenchmarkCipher on a 512-byte state (amd64 with
// AES-NI, 2 vCPU, Go 1.26, medians of three runs): sealing takes 0.28 µs
// with GCM and 0.67 µs with XChaCha, opening 0.25 µs and 0.53 µs. That is
// about 0.4 µs more per write and 0.3 µs more per read, small beside a
// store's round trip (BenchmarkLayer: about 1.3 µs for a sealed Update or
// Load of memstore, which has none).
//
// What a read finds, and why it is reported as it is: a blob that fails
// authentication, or is too short to be a blob, is tampering (or
// corruption), and the session reads as store.ErrNotFound, as if absent,
// since no state sealed for it is there; the layer counts it (Tampered)
// and passes a *TamperError, which names the session by handle, never by
// ID, to Options.OnTamper. A blob with a well-formed header naming a key
// the ring does not hold (ErrUnknownKey), or with an unknown format byte
// (ErrFormat), is returned as an error instead: it means the ring or the
// code is misconfigured (a key dropped before Reseal finished, a row
// written unsealed), and logging every such user out silently would hide
// that. A Touch extends the expiry of such a row (or a tampered one)
// before it opens the state, so it returns the error having moved the
// expiry; every other read leaves the row as it was. Writes that do not
// read the state (Update, UpdateTTL, Delete, and the owner operations)
// find a tampered row live, as the inner store does: Update replaces it
// with a properly sealed state, and List shows it.
//
// Keys are rotated in steps, each deployed to every instance before the
// next: add the new key after the old one (every instance can now open
// what it will seal); put it first, making it the write key; run Reseal,
// which re-seals every live session under it with store.KeepTTL (expiries
// unchanged, versions one more); then drop the old key. A single instance
// can skip the first step. Skipping it with several makes an instance
// still on the old ring meet sessions under a key it lacks
// (ErrUnknownKey), and running Reseal before every instance writes with
// the new key leaves sessions those instances write under the old one.
//
// Nothing in the package (errors, fmt and slog output of a Ring or a Key)
// shows key material, a session ID or a state.
package seal
