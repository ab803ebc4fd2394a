// Package memstore is an in-memory session store: the reference contract of
// package store, kept in process memory and shared safely by any number of
// goroutines. Nothing survives a restart, so it suits tests, single-instance
// services and caches in front of a durable backend.
//
// The keyspace is split into shards, each a map guarded by its own mutex, so
// that operations on different sessions rarely wait for one another; an ID's
// shard comes from a fixed hash, so the layout is the same in every process
// and every run. Each shard also keeps its records in a min-heap ordered by
// (expiry, ID), the order in which the contract says DeleteExpired reclaims
// them: reclaiming is a merge of the shard heaps that touches only the
// records it removes, never a scan of the live ones. Shards index their
// records by owner too (store.Owners), so that listing, capping or revoking
// an owner's sessions visits those sessions and no others. Every record
// carries a version (store.Versioner) beside its state, under the same
// lock, so a conditional write compares and replaces it in one step at the
// cost of an unconditional one; Scan (store.Scanner), having no index in ID
// order to use, selects its page from every record under every shard's
// lock, and is for maintenance passes only. Stored state is copied on the
// way in and on the way out, outside the locks, and is never written in
// place, so a caller can neither change a stored session by accident nor
// see one change under it.
package memstore
