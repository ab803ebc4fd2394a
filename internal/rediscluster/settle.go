package rediscluster

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// unmet is why the cluster has not settled yet: what is missing, and on
// which node (-1 for none in particular), whose log an error then quotes.
type unmet struct {
	node int
	what string
}

// poll calls check until it reports nothing unmet or ctx ends; the error
// then names the last unmet condition and quotes the end of that node's
// log. c.mu must be held.
func (c *Cluster) poll(ctx context.Context, goal string, check func(context.Context) *unmet) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		u := check(cctx)
		cancel()
		if u == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("rediscluster: waiting for %s: %v; still: %s", goal, ctx.Err(), u.what)
			if u.node >= 0 && u.node < len(c.nodes) {
				n := c.nodes[u.node]
				msg += fmt.Sprintf("\nlog of node %d (%s):\n%s", n.index, n.logPath, tail(logSince(n.logPath, 0), 2000))
			}
			return fmt.Errorf("%s", msg)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// form makes a cluster of freshly started nodes: distinct config epochs
// (as redis-cli gives them, so that no epoch collision has to be resolved),
// each primary's slots, every node introduced to the first, then each
// replica attached to its primary. c.mu must be held.
func (c *Cluster) form(ctx context.Context) error {
	for i, n := range c.nodes {
		id, err := n.client.ClusterMyID(ctx).Result()
		if err != nil {
			return c.nodeErr(n, "CLUSTER MYID", err)
		}
		n.id = id
		if err := n.client.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return c.nodeErr(n, "CLUSTER SET-CONFIG-EPOCH", err)
		}
		for _, r := range n.slots {
			if err := n.client.ClusterAddSlotsRange(ctx, r.lo, r.hi).Err(); err != nil {
				return c.nodeErr(n, fmt.Sprintf("CLUSTER ADDSLOTSRANGE %d %d", r.lo, r.hi), err)
			}
		}
	}
	first := c.nodes[0]
	for _, n := range c.nodes[1:] {
		// The bus port is not port+10000, so MEET is told it.
		if err := first.client.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.port, n.busPort).Err(); err != nil {
			return c.nodeErr(first, fmt.Sprintf("CLUSTER MEET with node %d", n.index), err)
		}
	}
	err := c.poll(ctx, "every node to know every other", func(ctx context.Context) *unmet {
		for _, n := range c.nodes {
			v, err := readView(ctx, n)
			if err != nil {
				return &unmet{n.index, err.Error()}
			}
			if len(v.entries) != len(c.nodes) {
				return &unmet{n.index, fmt.Sprintf("node %d knows %d of %d nodes", n.index, len(v.entries), len(c.nodes))}
			}
			for _, e := range v.entries {
				if e.handshake {
					return &unmet{n.index, fmt.Sprintf("node %d is still in handshake with %s", n.index, e.addr)}
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range c.nodes {
		if n.replicaOf < 0 {
			continue
		}
		p := c.nodes[n.replicaOf]
		if err := n.client.ClusterReplicate(ctx, p.id).Err(); err != nil {
			return c.nodeErr(n, fmt.Sprintf("CLUSTER REPLICATE node %d", p.index), err)
		}
	}
	return nil
}

// nodeErr reports a command that failed on node n, with the end of its log.
func (c *Cluster) nodeErr(n *node, what string, err error) error {
	return fmt.Errorf("rediscluster: %s on node %d (%s): %w; log (%s):\n%s",
		what, n.index, n.addr(), err, n.logPath, tail(logSince(n.logPath, 0), 2000))
}

// entry is one line of CLUSTER NODES.
type entry struct {
	id, addr  string
	port      int
	master    bool
	masterID  string // "-" for a master
	failing   bool   // flagged fail or fail? (PFAIL)
	handshake bool   // handshake or noaddr: not really known yet
	myself    bool
	slots     []slotRange
}

// view is what one node says about the cluster.
type view struct {
	info    map[string]string // CLUSTER INFO
	entries []entry
}

// readView asks node n for CLUSTER INFO and CLUSTER NODES.
func readView(ctx context.Context, n *node) (*view, error) {
	if n.client == nil {
		return nil, fmt.Errorf("node %d is down", n.index)
	}
	infoText, err := n.client.ClusterInfo(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("CLUSTER INFO on node %d: %v", n.index, err)
	}
	nodesText, err := n.client.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("CLUSTER NODES on node %d: %v", n.index, err)
	}
	v := &view{info: parseInfo(infoText)}
	for _, line := range strings.Split(strings.TrimSpace(nodesText), "\n") {
		e, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("CLUSTER NODES on node %d: %v", n.index, err)
		}
		v.entries = append(v.entries, e)
	}
	return v, nil
}

// parseInfo parses the "key:value" lines of INFO and CLUSTER INFO.
func parseInfo(text string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// parseEntry parses one CLUSTER NODES line:
// <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>...
func parseEntry(line string) (entry, error) {
	f := strings.Fields(line)
	if len(f) < 8 {
		return entry{}, fmt.Errorf("malformed line %q", line)
	}
	e := entry{id: f[0], masterID: f[3]}
	hostPort, _, _ := strings.Cut(f[1], "@")
	if _, p, err := net.SplitHostPort(hostPort); err == nil {
		e.port, _ = strconv.Atoi(p)
	}
	e.addr = hostPort
	for _, flag := range strings.Split(f[2], ",") {
		switch flag {
		case "master":
			e.master = true
		case "myself":
			e.myself = true
		case "fail", "fail?":
			e.failing = true
		case "handshake", "noaddr":
			e.handshake = true
		}
	}
	for _, s := range f[8:] {
		if strings.HasPrefix(s, "[") { // a slot being migrated or imported
			continue
		}
		lo, hi, isRange := strings.Cut(s, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			return entry{}, fmt.Errorf("malformed slot %q in line %q", s, line)
		}
		e.slots = append(e.slots, slotRange{a, b})
	}
	return e, nil
}

// settle waits until the cluster has settled (see the package
// documentation), with full slot coverage when coverage is true, and until
// extra (when not nil) is satisfied by the agreed view; it then records
// that view as the nodes' roles and slots. c.mu must be held.
func (c *Cluster) settle(ctx context.Context, coverage bool, extra func(byIndex map[int]entry) *unmet) error {
	if !c.clustered {
		return c.poll(ctx, "the nodes to serve and the replicas to link", c.checkPlain)
	}
	var agreed map[int]entry
	err := c.poll(ctx, "the cluster to settle", func(ctx context.Context) *unmet {
		var u *unmet
		agreed, u = c.checkCluster(ctx, coverage)
		if u == nil && extra != nil {
			u = extra(agreed)
		}
		return u
	})
	if err != nil {
		return err
	}
	ids := make(map[string]int)
	for i, e := range agreed {
		ids[e.id] = i
	}
	for i, e := range agreed {
		n := c.nodes[i]
		n.id = e.id
		n.primary = e.master && len(e.slots) > 0
		n.slots = e.slots
		n.replicaOf = -1
		if !e.master {
			if p, ok := ids[e.masterID]; ok {
				n.replicaOf = p
			}
		}
	}
	return nil
}

// checkCluster reads every running node's view and returns the view they
// agree on, by node index, or what is not settled yet.
func (c *Cluster) checkCluster(ctx context.Context, coverage bool) (map[int]entry, *unmet) {
	byPort := make(map[int]*node)
	for _, n := range c.nodes {
		byPort[n.port] = n
	}
	var agreed map[int]entry
	var agreedSig string
	agreedBy := -1
	for _, n := range c.nodes {
		if n.srv == nil {
			continue
		}
		v, err := readView(ctx, n)
		if err != nil {
			return nil, &unmet{n.index, err.Error()}
		}
		if coverage {
			if st := v.info["cluster_state"]; st != "ok" {
				return nil, &unmet{n.index, fmt.Sprintf("node %d reports cluster_state:%s", n.index, st)}
			}
			if ok := v.info["cluster_slots_ok"]; ok != strconv.Itoa(NumSlots) {
				return nil, &unmet{n.index, fmt.Sprintf("node %d reports %s of %d slots ok", n.index, ok, NumSlots)}
			}
		}
		if len(v.entries) != len(c.nodes) {
			return nil, &unmet{n.index, fmt.Sprintf("node %d knows %d of %d nodes", n.index, len(v.entries), len(c.nodes))}
		}
		mine := make(map[int]entry)
		for _, e := range v.entries {
			other, ok := byPort[e.port]
			if !ok {
				return nil, &unmet{n.index, fmt.Sprintf("node %d knows a node %s that is not ours", n.index, e.addr)}
			}
			if e.myself && other != n {
				return nil, &unmet{n.index, fmt.Sprintf("node %d believes it is %s", n.index, e.addr)}
			}
			if other.srv != nil && (e.failing || e.handshake) {
				return nil, &unmet{n.index, fmt.Sprintf("node %d sees running node %d as failing or unknown", n.index, other.index)}
			}
			mine[other.index] = e
		}
		sig := signature(mine)
		if agreed == nil {
			agreed, agreedSig, agreedBy = mine, sig, n.index
		} else if sig != agreedSig {
			return nil, &unmet{n.index, fmt.Sprintf("node %d and node %d disagree:\n%s\nversus\n%s", n.index, agreedBy, sig, agreedSig)}
		}
	}
	if agreed == nil {
		return nil, nil // nothing runs: nothing to wait for
	}
	for i, e := range agreed {
		n := c.nodes[i]
		if e.master || n.srv == nil {
			continue
		}
		if p := findID(agreed, e.masterID); p < 0 || c.nodes[p].srv == nil {
			continue // its primary is down: no link to wait for
		}
		if u := linked(ctx, n); u != nil {
			return nil, u
		}
	}
	return agreed, nil
}

// signature renders the parts of a view every node must agree on: who is a
// primary of what, who replicates whom.
func signature(v map[int]entry) string {
	idx := make([]int, 0, len(v))
	for i := range v {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var b strings.Builder
	for _, i := range idx {
		e := v[i]
		role := "replica of " + strconv.Itoa(findID(v, e.masterID))
		if e.master {
			role = "primary"
		}
		fmt.Fprintf(&b, "  node %d (%s): %s, slots %v\n", i, e.id, role, e.slots)
	}
	return b.String()
}

func findID(v map[int]entry, id string) int {
	for i, e := range v {
		if e.id == id {
			return i
		}
	}
	return -1
}

// linked checks that replica n has a working link to its primary.
func linked(ctx context.Context, n *node) *unmet {
	text, err := n.client.Info(ctx, "replication").Result()
	if err != nil {
		return &unmet{n.index, fmt.Sprintf("INFO replication on node %d: %v", n.index, err)}
	}
	info := parseInfo(text)
	if info["role"] != "slave" || info["master_link_status"] != "up" {
		return &unmet{n.index, fmt.Sprintf("replica node %d: role %s, master_link_status %s", n.index, info["role"], info["master_link_status"])}
	}
	return nil
}

// checkPlain checks nodes that are not in cluster mode: each running one
// has the role this package gave it, and each running replica of a running
// primary is linked to it.
func (c *Cluster) checkPlain(ctx context.Context) *unmet {
	for _, n := range c.nodes {
		if n.srv == nil {
			continue
		}
		if n.primary {
			text, err := n.client.Info(ctx, "replication").Result()
			if err != nil {
				return &unmet{n.index, fmt.Sprintf("INFO replication on node %d: %v", n.index, err)}
			}
			if role := parseInfo(text)["role"]; role != "master" {
				return &unmet{n.index, fmt.Sprintf("primary node %d has role %s", n.index, role)}
			}
			continue
		}
		if n.replicaOf >= 0 && c.nodes[n.replicaOf].srv != nil {
			if u := linked(ctx, n); u != nil {
				return u
			}
		}
	}
	return nil
}
