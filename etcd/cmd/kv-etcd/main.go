// Command kv-etcd is kv's commands on an etcd cluster. Users type kv: kv
// runs kv-etcd (same arguments, environment, standard streams and exit
// status) when endpoints are configured (--endpoints, KV_ENDPOINTS or the
// config file's endpoints), so that the kv binary never links etcd's
// client, gRPC and protobuf, and never pays for their start-up.
package main

import (
	"os"

	"github.com/kvtool/kv/cmd"
	"github.com/kvtool/kv/etcd"
)

func main() {
	os.Exit(cmd.MainCluster(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, etcd.Opener{}))
}
