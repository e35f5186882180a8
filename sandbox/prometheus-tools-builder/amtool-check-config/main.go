// Command amtool-check-config is `amtool check-config` reduced to the code it runs:
// Alertmanager's own configuration loader (config.LoadFile: strict YAML, defaults, every
// receiver's validation, matchers, time intervals) and the parsing of the templates it names,
// with the matcher parser amtool sets up when no feature flag is given (compat.InitFromFlags
// with no flags: the UTF-8 parser, falling back to the classic one). The amtool client (API,
// kingpin) is left out. It exists to be the oracle of lab 09's grader;
// it is not the real amtool.
//
// Usage: amtool-check-config FILE. Prints SUCCESS, or FAILED: <Alertmanager's message>, and
// exits 0 or 1, as amtool does.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/template"
)

func check(filename string) error {
	// As amtool's root command does (cli/root.go) with an empty --enable-feature.
	compat.InitFromFlags(slog.New(slog.DiscardHandler), featurecontrol.NoopFlags{})
	cfg, err := config.LoadFile(filename)
	if err != nil {
		return err
	}
	if len(cfg.Templates) > 0 {
		if _, err := template.FromGlobs(cfg.Templates); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: amtool-check-config FILE")
		os.Exit(2)
	}
	if err := check(os.Args[1]); err != nil {
		fmt.Printf("FAILED: %s\n", err)
		os.Exit(1)
	}
	fmt.Println("SUCCESS")
}
