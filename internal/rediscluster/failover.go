package rediscluster

import (
	"context"
	"fmt"
)

// Failover replaces primary p by one of its running replicas, as an
// operator would after losing p: p is killed (if it still runs), the
// replica is promoted (CLUSTER FAILOVER TAKEOVER in a cluster, REPLICAOF NO
// ONE otherwise), the cluster is waited for, and p is started again, to
// rejoin as a replica of the new primary. It returns the new primary's
// index, once p is linked to it.
//
// Writes p acknowledged that had not reached the replica are lost, as in a
// real failover; a test that must keep them waits for the replica first
// (WAIT 1 0 after writing).
func (c *Cluster) Failover(ctx context.Context, p int) (newPrimary int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, err := c.node("failover", p)
	if err != nil {
		return -1, err
	}
	if !old.primary {
		return -1, fmt.Errorf("rediscluster: failover: node %d is not a primary", p)
	}
	var repl *node
	for _, n := range c.nodes {
		if n.replicaOf == p && n.srv != nil {
			repl = n
			break
		}
	}
	if repl == nil {
		return -1, fmt.Errorf("%w: node %d", ErrNoReplica, p)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if old.srv != nil {
		if err := c.halt(old, sigKill); err != nil {
			return -1, err
		}
	}

	if c.clustered {
		if err := repl.client.Do(ctx, "CLUSTER", "FAILOVER", "TAKEOVER").Err(); err != nil {
			return -1, c.nodeErr(repl, "CLUSTER FAILOVER TAKEOVER", err)
		}
		promoted := func(agreed map[int]entry) *unmet {
			if e := agreed[repl.index]; !e.master || len(e.slots) == 0 {
				return &unmet{repl.index, fmt.Sprintf("node %d is not serving node %d's slots yet", repl.index, p)}
			}
			return nil
		}
		if err := c.settle(ctx, c.coverable(p), promoted); err != nil {
			return -1, err
		}
	} else {
		if err := repl.client.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
			return -1, c.nodeErr(repl, "REPLICAOF NO ONE", err)
		}
		repl.primary, repl.replicaOf = true, -1
		old.primary, old.replicaOf = false, repl.index
		for _, n := range c.nodes {
			if n.replicaOf != p {
				continue
			}
			n.replicaOf = repl.index
			if n.srv != nil {
				if err := n.client.Do(ctx, "REPLICAOF", "127.0.0.1", repl.port).Err(); err != nil {
					return -1, c.nodeErr(n, "REPLICAOF", err)
				}
			}
		}
	}

	// The old primary comes back with its own files. In a cluster its
	// nodes.conf still says it serves the slots, but with an older config
	// epoch than the promoted replica's: the others tell it so, and it
	// turns into a replica of the slots' new owner.
	if err := c.launch(ctx, old); err != nil {
		return -1, err
	}
	rejoined := func(agreed map[int]entry) *unmet {
		if e := agreed[p]; e.master || e.masterID != repl.id {
			return &unmet{p, fmt.Sprintf("node %d has not rejoined as a replica of node %d yet", p, repl.index)}
		}
		return nil
	}
	if !c.clustered {
		rejoined = nil
	}
	if err := c.settle(ctx, c.coverable(-1), rejoined); err != nil {
		return -1, err
	}
	return repl.index, nil
}
