#pragma once

namespace loom::cli {

// Runs the `loom` command line; returns the process exit code (see docs/cli.md).
int Main(int argc, char** argv);

}  // namespace loom::cli
