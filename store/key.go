package store

// Keyer is implemented by a layer that stores each session under a key
// derived from its ID rather than the ID itself (package hashid stores a
// hash, so that no copy of the table holds a credential), and by every
// wrapper, which passes its backend's through. The stored ID is what the
// contract's orders fall back on: DeleteExpired, Sweep, List and a cap's
// eviction break ties of expiry by stored ID in byte order, and a
// session's Handle is HandleOf its stored ID. For a plain backend it is
// the ID itself.
type Keyer interface {
	StoredID(id ID) ID
}

// StoredID returns the ID s stores the session id under: s's own if it is
// a Keyer, else id.
func StoredID(s Store, id ID) ID {
	if k, ok := s.(Keyer); ok {
		return k.StoredID(id)
	}
	return id
}

// HandleFor returns the handle s's lists (Owners.List) show for the session
// under id: HandleOf its stored ID. An application marks "this device" in a
// list by comparing handles with HandleFor(s, its own session's ID).
func HandleFor(s Store, id ID) Handle { return HandleOf(StoredID(s, id)) }
