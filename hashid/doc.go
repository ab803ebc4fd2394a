// Package hashid is a layer over any store.Store that stores a hash of each
// session ID instead of the ID. A session ID is a credential: whoever holds
// it is logged in. A backend keeps it as the key of its table, so every
// copy of that table (a backup, a replica, a dump handed to a colleague, a
// table read through an SQL injection elsewhere in the application) holds
// every live credential. Through this layer the table holds only digests,
// which log no one in; the application, which gets the ID from the
// request's cookie, hashes it on each call, which costs one SHA-256 of
// about 60 bytes.
//
// # Plain or keyed
//
// With no key the stored ID is SHA-256("hourglass/hashid\x00" || id). That
// is enough for IDs from store.NewID, 256 bits from crypto/rand: no one can
// search that space for an ID whose hash is in the table. IDs with less
// entropy (an application's own, shorter tokens) can be found from their
// hashes by trying them all; for those, set Options.Key, and the stored ID
// becomes HMAC-SHA256(key, "hourglass/hashid\x00" || id), which no one
// without the key can compute. The key then joins the session IDs as a
// secret to keep out of the database's copies, and it can never change:
// under another key every stored session is unreachable, which logs
// everyone out.
//
// Either way the stored ID is the 32-byte digest as unpadded base64url, 43
// characters, a valid store.ID for any backend.
//
// # What changes through the layer
//
// Every operation behaves as the contract says, with one difference the
// contract provides for (store.Keyer): where it orders sessions by ID
// (expiry ties in DeleteExpired, sweeps, List and a cap's eviction), the
// order is that of the stored IDs, and a List shows handles of the stored
// IDs. store.HandleFor(layer, id) gives the handle of a session, to mark
// "this device" on an account page. The layer has the optional
// capabilities of the store it wraps (store.Owners, store.Toucher,
// store.Versioner) except store.Scanner: a scan hands out IDs, and the
// layer cannot turn a hash back into one, which is the point of it.
package hashid
