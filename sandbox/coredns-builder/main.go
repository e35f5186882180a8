// Command coredns is CoreDNS v1.12.0 with only the plugins that MicroK8s's dns addon Corefile
// uses (graders/kubelab/sandbox/data/addons/dns.yaml), plus whoami, which CoreDNS serves when
// started without a Corefile, built the way CoreDNS documents for custom builds: import the
// plugins, set dnsserver.Directives, call coremain.Run.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/whoami"
)

// directives keeps upstream's order (core/dnsserver/zdirectives.go of v1.12.0, generated from
// plugin.cfg): a plugin sees the effects of every plugin after it in this list.
var directives = []string{
	"reload",
	"ready",
	"health",
	"prometheus",
	"errors",
	"log",
	"loadbalance",
	"cache",
	"kubernetes",
	"loop",
	"forward",
	"whoami",
}

func init() {
	dnsserver.Directives = directives
}

func main() {
	coremain.Run()
}
