#include "cli/cli.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "cli/context.h"

namespace loom::cli {

int ExitCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
      return 3;  // validation: bad descriptor, event, SQL
    case StatusCode::kNotFound:
      return 4;
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
      return 5;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted:
      return 6;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return 7;
    default:
      return 1;
  }
}

int ReportError(const Status& status) {
  std::string msg = status.message();
  std::string code(StatusCodeName(status.code()));
  size_t start = 0;
  while (start <= msg.size()) {
    size_t nl = msg.find('\n', start);
    std::string line = msg.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    std::fprintf(stderr, "loom: error: %s\n", line.c_str());
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return ExitCodeFor(status.code());
}

Result<Backend*> Context::GetBackend() {
  if (!backend_) {
    if (!options.server.empty()) {
      if (!options.as.empty()) {
        return InvalidArgument(
            "--as works in embedded mode; with --server, the --token says who "
            "you are");
      }
      LOOM_ASSIGN_OR_RETURN(backend_,
                            OpenHttpBackend(options.server, options.ca_cert, options.token));
    } else {
      LOOM_ASSIGN_OR_RETURN(
          backend_, OpenEmbeddedBackend(options.data_dir, options.as, options.master_key_file));
    }
  }
  return backend_.get();
}

namespace {

int Run(int argc, char** argv) {
  Context ctx;
  const char* env_data = std::getenv("LOOM_DATA");
  const char* env_server = std::getenv("LOOM_SERVER");
  ctx.options.data_dir = env_data && *env_data ? env_data : "loom-data";
  ctx.options.server = env_server ? env_server : "";
  const char* env_ca = std::getenv("LOOM_CA_CERT");
  ctx.options.ca_cert = env_ca ? env_ca : "";
  const char* env_token = std::getenv("LOOM_TOKEN");
  ctx.options.token = env_token ? env_token : "";

  CLI::App app{"loom — a self-serve data mesh platform", "loom"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "loom 0.1.0");
  app.add_option("--data", ctx.options.data_dir,
                 "data folder (default ./loom-data, or $LOOM_DATA)");
  app.add_option("--server", ctx.options.server,
                 "talk to `loom serve` at this URL instead ($LOOM_SERVER)");
  app.add_option("--ca-cert", ctx.options.ca_cert,
                 "PEM file of the CA that signed an https:// server's certificate ($LOOM_CA_CERT)");
  app.add_flag("--json", ctx.options.json, "print JSON for scripts");
  app.add_option("--as", ctx.options.as,
                 "embedded mode: act as PRINCIPAL (user:NAME or service:NAME) with its grants "
                 "instead of the local administrator");
  app.add_option("--token", ctx.options.token,
                 "with --server: the API token or JWT to authenticate with ($LOOM_TOKEN)");
  app.add_option("--master-key-file", ctx.options.master_key_file,
                 "the master key (64 hex digits) for masks and encrypted products "
                 "(else $LOOM_MASTER_KEY)");
  app.fallthrough();

  int exit_code = 0;
  RegisterCatalogCommands(app, ctx, &exit_code);
  RegisterServeCommand(app, ctx, &exit_code);
  RegisterDemoCommand(app, ctx, &exit_code);
  RegisterDataCommands(app, ctx, &exit_code);
  RegisterGovernanceCommands(app, ctx, &exit_code);
  RegisterPipelineCommands(app, ctx, &exit_code);
  RegisterSecurityCommands(app, ctx, &exit_code);
  RegisterKeysCommand(app, ctx, &exit_code);
  RegisterQualityCommands(app, ctx, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // usage error
  }
  return exit_code;
}

}  // namespace

int Main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {  // the CLI's one last-resort catch
    std::fprintf(stderr, "loom: internal error: %s\n", e.what());
    return 1;
  }
}

}  // namespace loom::cli
