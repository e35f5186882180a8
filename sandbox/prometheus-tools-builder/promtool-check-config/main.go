// Command promtool-check-config is `promtool check config --syntax-only` reduced to the code it
// runs: Prometheus's own configuration loader (config.LoadFile, strict YAML, defaults and
// validation), with the service discoveries a lab 09 configuration is likely to use registered
// (kubernetes_sd_configs, file_sd_configs, dns_sd_configs, http_sd_configs; static_configs is
// built in), and promtool's TLS pair rule. The other discoveries are not registered: their
// fields read as unknown here, and the grader knows it (kubelab.oracles). Everything else promtool links (TSDB, PromQL,
// the other discoveries) is left out, so the build stays small. It exists to be the oracle of
// lab 09's grader; it is not the real promtool.
//
// Usage: promtool-check-config FILE. Prints SUCCESS, or FAILED: <Prometheus's message>, and
// exits 0 or 1, as promtool does.
package main

import (
	"fmt"
	"log/slog"
	"os"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/dns"  // dns_sd_configs
	_ "github.com/prometheus/prometheus/discovery/file" // file_sd_configs
	_ "github.com/prometheus/prometheus/discovery/http" // http_sd_configs
	"github.com/prometheus/prometheus/discovery/kubernetes"
)

func init() {
	// As promtool does (cmd/promtool/main.go).
	//nolint:staticcheck
	model.NameValidationScheme = model.UTF8Validation
}

// checkTLSConfig is promtool's rule in --syntax-only mode: a client certificate goes with its key.
func checkTLSConfig(tls promconfig.TLSConfig) error {
	if tls.CertFile != "" && tls.KeyFile == "" {
		return fmt.Errorf("client cert file %q specified without client key file", tls.CertFile)
	}
	if tls.KeyFile != "" && tls.CertFile == "" {
		return fmt.Errorf("client key file %q specified without client cert file", tls.KeyFile)
	}
	return nil
}

func check(filename string) error {
	cfg, err := config.LoadFile(filename, false, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	for _, scfg := range cfg.ScrapeConfigs {
		if err := checkTLSConfig(scfg.HTTPClientConfig.TLSConfig); err != nil {
			return err
		}
		for _, c := range scfg.ServiceDiscoveryConfigs {
			if k, ok := c.(*kubernetes.SDConfig); ok {
				if err := checkTLSConfig(k.HTTPClientConfig.TLSConfig); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: promtool-check-config FILE")
		os.Exit(2)
	}
	if err := check(os.Args[1]); err != nil {
		fmt.Printf("FAILED: %s\n", err)
		os.Exit(1)
	}
	fmt.Println("SUCCESS")
}
