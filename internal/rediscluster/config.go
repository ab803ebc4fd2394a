package rediscluster

import (
	"fmt"
	"sort"
	"strings"
)

// DefaultSettings returns the redis.conf directives every node starts with,
// before Options.AppendFsync and Options.Settings. The cluster-* ones are
// ignored by a node that is not in a cluster.
//
// Durability is the point: every write is appended to the append-only file
// and fsynced before it is acknowledged, so a killed node loses nothing it
// acknowledged. RDB snapshots are off (save ""), since the append-only file
// already holds everything and a background save would only add forks.
// DEBUG is allowed from loopback (DEBUG SLEEP freezes a node for fault
// tests). A replica's full sync starts at once rather than after the
// default five seconds spent waiting for other replicas to share it.
func DefaultSettings() map[string]string {
	return map[string]string{
		"bind":                          "127.0.0.1",
		"protected-mode":                "no",
		"appendonly":                    "yes",
		"appendfsync":                   "always",
		"save":                          "",
		"enable-debug-command":          "local",
		"loglevel":                      "notice",
		"always-show-logo":              "no",
		"repl-diskless-sync-delay":      "0",
		"cluster-node-timeout":          "1000",
		"cluster-replica-no-failover":   "yes",
		"cluster-require-full-coverage": "yes",
		"cluster-announce-ip":           "127.0.0.1",
	}
}

// managed are the directives the package sets for each node itself: a
// setting for one of them would break Kill, Restart or the port bookkeeping.
var managed = map[string]bool{
	"port": true, "cluster-port": true, "cluster-enabled": true, "cluster-config-file": true,
	"dir": true, "pidfile": true, "daemonize": true, "logfile": true, "include": true,
	"replicaof": true, "slaveof": true, "unixsocket": true, "tls-port": true,
}

// renderSettings merges the defaults, the append fsync policy and extra
// into redis.conf lines, sorted so that the file is reproducible.
func renderSettings(appendFsync string, extra map[string]string) (string, error) {
	all := DefaultSettings()
	switch appendFsync {
	case "":
	case "always", "everysec", "no":
		all["appendfsync"] = appendFsync
	default:
		return "", fmt.Errorf("rediscluster: Options.AppendFsync %q: want always, everysec or no", appendFsync)
	}
	for k, v := range extra {
		k = strings.ToLower(k)
		if k == "" || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return "", fmt.Errorf("rediscluster: invalid setting name %q", k)
		}
		if managed[k] {
			return "", fmt.Errorf("rediscluster: setting %s is managed by rediscluster and cannot be overridden", k)
		}
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		line, err := directive(k, all[k])
		if err != nil {
			return "", err
		}
		b.WriteString(line)
	}
	return b.String(), nil
}

// directive renders one redis.conf line. Values are double-quoted when they
// need it, in the syntax of Redis's own argument splitter; line breaks and
// NUL cannot be expressed safely and are refused.
func directive(name, value string) (string, error) {
	if strings.ContainsAny(value, "\n\r\x00") {
		return "", fmt.Errorf("rediscluster: setting %s: value contains a line break or NUL", name)
	}
	if value == "" || strings.ContainsAny(value, " \t\"'\\#") {
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		value = `"` + r.Replace(value) + `"`
	}
	return name + " " + value + "\n", nil
}
