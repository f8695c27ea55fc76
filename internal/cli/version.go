package cli

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// commit is set by `make build` (-ldflags -X) for builds without VCS stamping
// (GOFLAGS=-buildvcs=false, a tarball); the toolchain's vcs.revision wins when present.
var commit string

// VersionRequested reports whether args ask for the version: --version or -version as
// the only argument, so `infer --version` works for every program whatever its flag
// sets look like, and a program's own -version flag with a value (train's model
// version: `train --version 7 --csv ...`) keeps working.
func VersionRequested(args []string) bool {
	return len(args) == 1 && (args[0] == "--version" || args[0] == "-version")
}

// Version is the one-line build description: program, module version, commit (with
// "+dirty" for a modified tree), commit time, Go version and platform, all from the
// build information the Go toolchain embeds.
func Version(program string) string {
	version, rev, when, dirty := "(devel)", commit, "", ""
	if rev == "" {
		rev = "unknown"
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = " " + s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
	}
	return fmt.Sprintf("%s %s commit %s%s%s %s %s/%s", program, version, rev, dirty, when,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// HandleVersion prints the version and exits 0 when args ask for it. Mains that do not
// go through Main (they map errors to their own exit codes) call it first.
func HandleVersion(program string, args []string, stdout io.Writer) {
	if VersionRequested(args) {
		fmt.Fprintln(stdout, Version(program))
		os.Exit(0)
	}
}
