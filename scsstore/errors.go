package scsstore

import "errors"

var (
	// ErrNotWrapped: an operation that needs the request's memory
	// (RenewToken, Login) ran in a request that Store.LoadAndSave did not
	// wrap. Nothing was changed.
	ErrNotWrapped = errors.New("scsstore: the request is not wrapped in Store.LoadAndSave")
	// ErrNoOwners: the backend does not keep owners (store.Owners), so it
	// cannot log a session in to a user or list a user's devices.
	ErrNoOwners = errors.New("scsstore: the backend does not implement store.Owners")
	// ErrNotIterable: the backend cannot list its sessions by token
	// (store.Scanner), so scs's Iterate cannot run on it.
	ErrNotIterable = errors.New("scsstore: the backend cannot list its sessions (no store.Scanner)")
	// ErrInvalidOptions: New was given options it cannot use.
	ErrInvalidOptions = errors.New("scsstore: invalid options")
)
