// loom demo

#include <cstdio>

#include "cli/context.h"

namespace loom::cli {

void RegisterDemoCommand(CLI::App& app, Context& ctx, int* exit_code) {
  auto* cmd =
      app.add_subcommand("demo", "Build the reference media-streaming mesh and tell its story");
  auto options = std::make_shared<platform::DemoOptions>();
  cmd->add_option("--scale", options->scale, "events to generate (default 10000)");
  cmd->callback([&ctx, exit_code, options] {
    options->data_dir = ctx.options.data_dir;
    Status s = platform::RunDemo(*options, stdout);
    *exit_code = s.ok() ? 0 : ReportError(s);
  });
}

}  // namespace loom::cli
