#pragma once

// What every command shares: the global options and the backend they select (private to cli/).

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "cli/backend.h"

namespace loom::cli {

struct GlobalOptions {
  std::string data_dir;         // --data, $LOOM_DATA, default ./loom-data
  std::string server;           // --server, $LOOM_SERVER; empty: embedded
  std::string ca_cert;          // --ca-cert, $LOOM_CA_CERT: the CA of an https:// server
  bool json = false;            // --json
  std::string as;               // --as PRINCIPAL (embedded mode)
  std::string token;            // --token, $LOOM_TOKEN (with --server)
  std::string master_key_file;  // --master-key-file (else $LOOM_MASTER_KEY)
};

// Not thread-safe; one per process.
class Context {
 public:
  GlobalOptions options;
  // Opens the embedded platform or connects to the server, once.
  Result<Backend*> GetBackend();

 private:
  std::unique_ptr<Backend> backend_;
};

// Each Register* adds its subcommands to `app`; the callbacks set `*exit_code`.
void RegisterCatalogCommands(CLI::App& app, Context& ctx, int* exit_code);
void RegisterServeCommand(CLI::App& app, Context& ctx, int* exit_code);
void RegisterDemoCommand(CLI::App& app, Context& ctx, int* exit_code);
void RegisterDataCommands(CLI::App& app, Context& ctx, int* exit_code);
void RegisterGovernanceCommands(CLI::App& app, Context& ctx, int* exit_code);
// FILE, or every *.yaml / *.yml under DIR (recursively, sorted); "-" reads stdin.
Result<std::vector<platform::SourceFile>> CollectFiles(const std::string& path);
void RegisterPipelineCommands(CLI::App& app, Context& ctx, int* exit_code);
// token, grant, revoke, group, audit (security_commands.cc).
void RegisterSecurityCommands(CLI::App& app, Context& ctx, int* exit_code);
// keys generate, keys rotate (keys_command.cc).
void RegisterKeysCommand(CLI::App& app, Context& ctx, int* exit_code);
// `loom quality`, `loom quality check`, `loom slo`.
void RegisterQualityCommands(CLI::App& app, Context& ctx, int* exit_code);
// `loom versions` of a table port.
int PrintTableVersions(Context& ctx, Backend& backend, const Address& port);

// The one table from status codes to exit codes (docs/cli.md).
int ExitCodeFor(StatusCode code);
// Prints "loom: <code>: message" (one line per message line) to stderr and returns the exit code.
int ReportError(const Status& status);

}  // namespace loom::cli
