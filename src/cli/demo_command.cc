// loom demo

#include <cstdio>

#include "cli/context.h"

namespace loom::cli {

void RegisterDemoCommand(CLI::App& app, Context& ctx, int* exit_code) {
  auto* cmd =
      app.add_subcommand("demo", "Build the reference media-streaming mesh and tell its story");
  auto options = std::make_shared<platform::DemoOptions>();
  cmd->add_option("--scale", options->scale, "play events to generate (default 10000)");
  cmd->add_option("--seed", options->seed, "the generator's seed (default 42)");
  cmd->add_option("--dump-raw", options->dump_raw_dir,
                  "also write the generated tables and events (JSON Lines) to this folder");
  cmd->callback([&ctx, exit_code, options] {
    options->data_dir = ctx.options.data_dir;
    Status s = platform::RunDemo(*options, stdout);
    *exit_code = s.ok() ? 0 : ReportError(s);
  });
}

}  // namespace loom::cli
