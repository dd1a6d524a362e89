package main

import "github.com/urfave/cli/v2"

// applyDefaults fills flags that were not given from the configuration.
func applyDefaults(c *cli.Context) error { return nil }
