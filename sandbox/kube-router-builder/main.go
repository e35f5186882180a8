// Command kube-router is kube-router v2.1.0 reduced to its NetworkPolicy controller (the
// firewall). It parses kube-router's own options (pkg/options), so every flag of the upstream
// command is accepted with the same default, and it starts the firewall exactly as upstream's
// pkg/cmd.KubeRouter.Run does: health controller, shared informers, optional metrics, then
// netpol.NewNetworkPolicyController. The BGP router, the IPVS service proxy and the
// load-balancer allocator are not compiled in (they pull in gobgp, the Docker client and
// aws-sdk-go): asking for one of them is an error instead of a silent no-op.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof" //nolint:gosec // upstream exposes pprof behind --enable-pprof too
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/cloudnativelabs/kube-router/v2/pkg/controllers/netpol"
	"github.com/cloudnativelabs/kube-router/v2/pkg/healthcheck"
	"github.com/cloudnativelabs/kube-router/v2/pkg/metrics"
	"github.com/cloudnativelabs/kube-router/v2/pkg/options"
	"github.com/cloudnativelabs/kube-router/v2/pkg/utils"
	"github.com/cloudnativelabs/kube-router/v2/pkg/version"
	"github.com/spf13/pflag"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

const healthControllerChannelLength = 10

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s\n", err)
		os.Exit(1)
	}
}

// run mirrors upstream's cmd/kube-router Main.
func run() error {
	klog.InitFlags(nil)
	config := options.NewKubeRouterConfig()
	config.AddFlags(pflag.CommandLine)
	pflag.Parse()
	if err := flag.CommandLine.Parse([]string{}); err != nil {
		return fmt.Errorf("failed to parse flags: %s", err)
	}
	if err := flag.Set("logtostderr", "true"); err != nil {
		return fmt.Errorf("failed to set flag: %s", err)
	}
	if err := flag.Set("v", config.VLevel); err != nil {
		return fmt.Errorf("failed to set flag: %s", err)
	}
	if config.HelpRequested {
		pflag.Usage()
		return nil
	}
	if config.Version {
		version.PrintVersion(false)
		return nil
	}
	if err := firewallOnly(config); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("kube-router needs to be run with privileges to execute iptables, ipset and configure ipvs")
	}
	if config.CleanupConfig {
		// Upstream's CleanupConfigAndExit runs this on a zero controller, then the proxy's and
		// the router's clean-ups, which this build does not contain.
		npc := netpol.NetworkPolicyController{}
		npc.Cleanup()
		return nil
	}
	client, err := newClient(config)
	if err != nil {
		return fmt.Errorf("failed to parse kube-router config: %v", err)
	}
	if config.EnablePprof {
		go func() {
			server := http.Server{Addr: "0.0.0.0:6060", ReadHeaderTimeout: 5 * time.Second}
			fmt.Fprintf(os.Stdout, "%s\n", server.ListenAndServe().Error())
		}()
	}
	if err := runFirewall(client, config); err != nil {
		return fmt.Errorf("failed to run kube-router: %v", err)
	}
	return nil
}

// firewallOnly refuses the controllers this build leaves out. Upstream enables the router and
// the service proxy by default, so the firewall-only command line is the same for both builds:
// --run-firewall=true --run-router=false --run-service-proxy=false.
func firewallOnly(config *options.KubeRouterConfig) error {
	var missing []string
	if config.RunRouter {
		missing = append(missing, "--run-router")
	}
	if config.RunServiceProxy {
		missing = append(missing, "--run-service-proxy")
	}
	if config.RunLoadBalancer {
		missing = append(missing, "--run-loadbalancer")
	}
	if len(missing) > 0 {
		return fmt.Errorf("this kube-router build contains only the firewall (NetworkPolicy controller): "+
			"set %v to false", missing)
	}
	if !config.RunFirewall {
		return errors.New("this kube-router build contains only the firewall: --run-firewall must stay true")
	}
	return nil
}

// newClient is upstream's NewKubeRouterDefault.
func newClient(config *options.KubeRouterConfig) (kubernetes.Interface, error) {
	version.PrintVersion(true)
	version.PrintVersionMessages(true)
	var clientconfig *rest.Config
	var err error
	if len(config.Master) != 0 || len(config.Kubeconfig) != 0 {
		clientconfig, err = clientcmd.BuildConfigFromFlags(config.Master, config.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("failed to build configuration from CLI: %v", err)
		}
	} else {
		clientconfig, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("unable to initialize inclusterconfig: %v", err)
		}
	}
	clientset, err := kubernetes.NewForConfig(clientconfig)
	if err != nil {
		return nil, fmt.Errorf("failed to create Kubernetes client: %v", err)
	}
	return clientset, nil
}

// runFirewall is upstream's KubeRouter.Run with only the firewall branch, in the same order.
func runFirewall(client kubernetes.Interface, config *options.KubeRouterConfig) error {
	var ipsetMutex sync.Mutex
	var wg sync.WaitGroup

	healthChan := make(chan *healthcheck.ControllerHeartbeat, healthControllerChannelLength)
	defer close(healthChan)
	stopCh := make(chan struct{})

	hc, err := healthcheck.NewHealthController(config)
	if err != nil {
		return fmt.Errorf("failed to create health controller: %v", err)
	}
	wg.Add(1)
	go hc.RunServer(stopCh, &wg)

	informerFactory := informers.NewSharedInformerFactory(client, 0)
	podInformer := informerFactory.Core().V1().Pods().Informer()
	nsInformer := informerFactory.Core().V1().Namespaces().Informer()
	npInformer := informerFactory.Networking().V1().NetworkPolicies().Informer()
	informerFactory.Start(stopCh)
	if err := cacheSyncOrTimeout(informerFactory, stopCh, config.CacheSyncTimeout); err != nil {
		return fmt.Errorf("failed to synchronize cache: %v", err)
	}

	hc.SetAlive()
	wg.Add(1)
	go hc.RunCheck(healthChan, stopCh, &wg)

	if config.MetricsPort > 0 && config.MetricsPort < 65535 {
		if err := utils.TCPAddressBindable(config.MetricsAddr, config.MetricsPort); err != nil {
			return fmt.Errorf("failed to listen on %s:%d for metrics: %w", config.MetricsAddr,
				int(config.MetricsPort), err)
		}
		config.MetricsEnabled = true
		mc, err := metrics.NewMetricsController(config)
		if err != nil {
			return fmt.Errorf("failed to create metrics controller: %v", err)
		}
		wg.Add(1)
		go mc.Run(healthChan, stopCh, &wg)
	} else {
		klog.Infof("Metrics port must be over 0 and under 65535 in order to be enabled, given port: %d",
			config.MetricsPort)
		klog.Infof("Disabling metrics for kube-router, set --metrics-port properly in order to enable")
		config.MetricsEnabled = false
	}

	iptablesCmdHandlers, ipSetHandlers, err := netpol.NewIPTablesHandlers(config)
	if err != nil {
		return fmt.Errorf("failed to create iptables handlers: %v", err)
	}
	npc, err := netpol.NewNetworkPolicyController(client, config, podInformer, npInformer, nsInformer,
		&ipsetMutex, iptablesCmdHandlers, ipSetHandlers)
	if err != nil {
		return fmt.Errorf("failed to create network policy controller: %v", err)
	}
	if _, err := podInformer.AddEventHandler(npc.PodEventHandler); err != nil {
		return fmt.Errorf("failed to add PodEventHandler: %v", err)
	}
	if _, err := nsInformer.AddEventHandler(npc.NamespaceEventHandler); err != nil {
		return fmt.Errorf("failed to add NamespaceEventHandler: %v", err)
	}
	if _, err := npInformer.AddEventHandler(npc.NetworkPolicyEventHandler); err != nil {
		return fmt.Errorf("failed to add NetworkPolicyEventHandler: %v", err)
	}
	wg.Add(1)
	go npc.Run(healthChan, stopCh, &wg)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
	klog.Infof("Shutting down the controllers")
	close(stopCh)
	wg.Wait()
	return nil
}

func cacheSyncOrTimeout(factory informers.SharedInformerFactory, stopCh <-chan struct{},
	timeout time.Duration) error {
	synced := make(chan struct{})
	go func() {
		factory.WaitForCacheSync(stopCh)
		close(synced)
	}()
	select {
	case <-time.After(timeout):
		return fmt.Errorf("%s timeout", timeout.String())
	case <-synced:
		return nil
	}
}
