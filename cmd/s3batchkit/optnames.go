package main

// The library packages name their options in messages as their API spells
// them (internal/optname: "Plan", "Compare", "Profile"); the command line
// names its flags. These tables say which flag sets which option, per
// package, and are handed to the packages as their OptionName.

// flagNames returns the OptionName func of a table: the flag of an
// option, or "" (the option's own name) for an option without one.
func flagNames(table map[string]string) func(string) string {
	return func(option string) string { return table[option] }
}

// diffFlag names the flags behind diff.Options.
var diffFlag = map[string]string{"Compare": "--compare"}

// reportFlag names the flags behind report.Options.
var reportFlag = map[string]string{"Plan": "--plan"}

// engineFlag names the flags of serve and run behind the local engine's
// options (local.Options, local.APIOptions) and its two kinds of store.
var engineFlag = map[string]string{
	"LambdaURL": "--lambda-url", "Hosts": "--allow-host",
	"S3Storage": "--endpoint-url", "DirStorage": "--local-root",
}

// objioFlag names the global flags behind objio.Config.
var objioFlag = map[string]string{"Profile": "--profile", "EndpointURL": "--endpoint-url"}
