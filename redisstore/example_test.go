package redisstore_test

import (
	"fmt"

	"github.com/hourglass-go/hourglass/redisstore"
)

// A store's options from one string, as a command line or a configuration
// file gives them: three seed nodes of a cluster, and a key prefix.
func ExampleParseURL() {
	o, err := redisstore.ParseURL("redis://10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379?prefix=myapp")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.Addrs, o.Cluster, o.Prefix)

	_, err = redisstore.ParseURL("redis://10.0.0.1:6379?prefix=my{app}")
	fmt.Println(err)
	// Output:
	// [10.0.0.1:6379 10.0.0.2:6379 10.0.0.3:6379] true myapp
	// redisstore: invalid options: prefix byte 0x7b at offset 2 is not in [A-Za-z0-9_.:/-]
}
