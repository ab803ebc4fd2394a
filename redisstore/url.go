package redisstore

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ParseURL returns the Options a Redis URL names, for a command line or a
// configuration file:
//
//	redis://[user:password@]host:port[,host:port...][?cluster=true|false&prefix=P]
//	rediss://... (the same, over TLS)
//
// Several addresses are seed nodes of one cluster; cluster defaults to
// true with more than one address and false with one. Every error wraps
// ErrInvalidOptions and never echoes the password.
func ParseURL(s string) (Options, error) {
	var o Options
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "redis" && scheme != "rediss") {
		return o, fmt.Errorf("%w: URL must start with redis:// or rediss://", ErrInvalidOptions)
	}
	if scheme == "rediss" {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	rest, query, _ := strings.Cut(rest, "?")
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		user, pass, _ := strings.Cut(rest[:i], ":")
		var err error
		if o.Username, err = url.PathUnescape(user); err != nil {
			return o, fmt.Errorf("%w: URL user is not escaped properly", ErrInvalidOptions)
		}
		if o.Password, err = url.PathUnescape(pass); err != nil {
			return o, fmt.Errorf("%w: URL password is not escaped properly", ErrInvalidOptions)
		}
		rest = rest[i+1:]
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return o, fmt.Errorf("%w: URL names no address", ErrInvalidOptions)
	}
	for _, a := range strings.Split(rest, ",") {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return o, fmt.Errorf("%w: URL address %q is not host:port", ErrInvalidOptions, clip(a))
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return o, fmt.Errorf("%w: URL address %q has no valid port", ErrInvalidOptions, clip(a))
		}
		o.Addrs = append(o.Addrs, a)
	}
	o.Cluster = len(o.Addrs) > 1
	q, err := url.ParseQuery(query)
	if err != nil {
		return o, fmt.Errorf("%w: URL query: %v", ErrInvalidOptions, err)
	}
	for k, v := range q {
		switch k {
		case "cluster":
			b, err := strconv.ParseBool(v[len(v)-1])
			if err != nil {
				return o, fmt.Errorf("%w: URL cluster=%q is not true or false", ErrInvalidOptions, clip(v[len(v)-1]))
			}
			o.Cluster = b
		case "prefix":
			if err := ValidatePrefix(v[len(v)-1]); err != nil {
				return o, err
			}
			o.Prefix = v[len(v)-1]
		default:
			return o, fmt.Errorf("%w: URL parameter %q is unknown (want cluster or prefix)", ErrInvalidOptions, clip(k))
		}
	}
	if !o.Cluster && len(o.Addrs) > 1 {
		return o, fmt.Errorf("%w: URL names %d addresses but cluster=false", ErrInvalidOptions, len(o.Addrs))
	}
	return o, nil
}
