package redisstore_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/redisstore"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in      string
		addrs   []string
		cluster bool
		prefix  string
		user    string
		tls     bool
	}{
		{in: "redis://127.0.0.1:6379", addrs: []string{"127.0.0.1:6379"}},
		{in: "redis://a:1,b:2", addrs: []string{"a:1", "b:2"}, cluster: true},
		{in: "redis://a:1?cluster=true", addrs: []string{"a:1"}, cluster: true},
		{in: "rediss://u:p%40ss@a:1/?prefix=app:s", addrs: []string{"a:1"}, prefix: "app:s", user: "u", tls: true},
	} {
		o, err := redisstore.ParseURL(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if !slices.Equal(o.Addrs, c.addrs) || o.Cluster != c.cluster || o.Prefix != c.prefix || o.Username != c.user || (o.TLS != nil) != c.tls {
			t.Errorf("%s: got %+v", c.in, o)
		}
	}
	if o, _ := redisstore.ParseURL("redis://u:p%40ss@a:1"); o.Password != "p@ss" {
		t.Errorf("password %q, want p@ss", o.Password)
	}
}

func TestParseURLRejects(t *testing.T) {
	for _, in := range []string{
		"", "127.0.0.1:6379", "http://a:1", "redis://", "redis://a", "redis://a:0", "redis://a:99999",
		"redis://a:1,b", "redis://a:1,b:2?cluster=false", "redis://a:1?cluster=maybe", "redis://a:1?prefix=x{y}",
		"redis://a:1?bogus=1", "redis://a:1?%zz", "redis://u:%zz@a:1",
	} {
		_, err := redisstore.ParseURL(in)
		if !errors.Is(err, redisstore.ErrInvalidOptions) {
			t.Errorf("%q: got %v, want ErrInvalidOptions", in, err)
		}
	}
	_, err := redisstore.ParseURL("redis://user:s3cret@a:1?bogus=1")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v must not echo the password", err)
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"redis://a:1", "rediss://u:p@a:1,b:2?cluster=true&prefix=x", "redis://%", "redis://a:1?prefix="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := redisstore.ParseURL(s)
		if err != nil {
			if !errors.Is(err, redisstore.ErrInvalidOptions) {
				t.Fatalf("%q: untyped error %v", s, err)
			}
			return
		}
		if len(o.Addrs) == 0 || (len(o.Addrs) > 1 && !o.Cluster) {
			t.Fatalf("%q: accepted %+v", s, o)
		}
		if o.Prefix != "" && redisstore.ValidatePrefix(o.Prefix) != nil {
			t.Fatalf("%q: accepted prefix %q", s, o.Prefix)
		}
	})
}
