// Package rediscluster runs throwaway Redis servers from the redis-server
// binary installed on the machine: a plain single node, or a Redis Cluster of
// several primaries, each with optional replicas. Tests and the simulator use
// it to get a real Redis without Docker or a shared server, and to crash,
// restart and fail over its nodes.
//
// Every node is a redis-server child process of this one (daemonize no, in
// its own process group), listening on 127.0.0.1 only, on a port and a
// cluster bus port picked free by the OS at Start. Each has its own
// directory holding its configuration, its append-only file, its nodes.conf
// and its log, so that Kill (SIGKILL, as a crash) and Restart (same port,
// same files) act like a machine that dies and comes back. The append-only
// file is on with appendfsync always by default, so a write acknowledged
// before a Kill is there after the Restart; RDB snapshots are off.
//
// The cluster is formed from Go with github.com/redis/go-redis (CLUSTER
// ADDSLOTSRANGE, MEET, REPLICATE), so nothing but redis-server is needed.
// Start, Restart and Failover return only once the cluster has settled:
// every running node answers, reports cluster_state:ok with all 16384 slots
// served, and agrees with the others on who serves which slots; every
// replica is linked to its primary. A cluster takes about two seconds to
// come up, most of it Redis's own delay before a fresh primary accepts
// writes.
//
// Failure detection is quick (cluster-node-timeout 1000 ms), and with the
// default cluster-require-full-coverage yes a primary down for longer than
// that takes the whole cluster down (CLUSTERDOWN) until it is back: Redis
// clears the failure of a primary that still owns slots up to two node
// timeouts after it was declared, which bounds how long Restart waits.
// Replicas never fail over by themselves (cluster-replica-no-failover yes):
// Failover promotes one, deterministically, with CLUSTER FAILOVER TAKEOVER.
// Settings overrides any of that.
//
// The binary is looked for in this order: Options.Binary; the directory
// named by HOURGLASS_REDIS_BINDIR (exclusively: if it is set and holds no
// redis-server, Start fails, which is how a test run proves it does not
// silently skip); redis-server on PATH; then the usual install locations.
//
// The processes are killed by Stop and, on Linux, by the kernel when this
// process dies without calling it (parent-death signal); directories left
// behind by a process that died are removed by a later Start.
//
// Nothing here imports testing: package internal/redistest builds the test
// helpers on top of it.
package rediscluster
