// loom keys generate | rotate: the master key of encryption at rest (docs/security.md).

#include <cstdio>
#include <memory>
#include <string>

#include "cli/context.h"

namespace loom::cli {
namespace {

using nlohmann::json;

int Print(Context& ctx, const Result<json>& r, const std::string& text) {
  if (!r.ok()) return ReportError(r.status());
  std::string out = ctx.options.json ? r->dump(2) + "\n" : text;
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

void RegisterKeysCommand(CLI::App& app, Context& ctx, int* exit_code) {
  auto* keys = app.add_subcommand("keys", "The master key of encryption at rest");
  keys->require_subcommand(1);

  auto out = std::make_shared<std::string>();
  auto* generate = keys->add_subcommand(
      "generate", "Write a new random master key (64 hex digits) to a new file, mode 0600");
  generate->add_option("--out", *out, "the file to create (never overwritten)")->required();
  generate->callback([&ctx, exit_code, out] {
    Result<json> r = platform::Platform::GenerateMasterKey(*out);
    std::string text = r.ok()
                           ? "wrote a new master key to " + *out + " (fingerprint " +
                                 r->value("fingerprint", "") +
                                 "); keep it outside the data folder, and a copy somewhere safe\n"
                           : "";
    *exit_code = Print(ctx, r, text);
  });

  auto new_key = std::make_shared<std::string>();
  auto* rotate = keys->add_subcommand(
      "rotate",
      "Re-wrap every data key under a new master key, without rewriting data (the platform "
      "administrator only)");
  rotate
      ->add_option("--new-key", *new_key,
                   "the new master key file (`loom keys generate`; with --server, a path on "
                   "the server's machine)")
      ->required();
  rotate->callback([&ctx, exit_code, new_key] {
    Result<Backend*> b = ctx.GetBackend();
    if (!b.ok()) {
      *exit_code = ReportError(b.status());
      return;
    }
    Result<json> r = (*b)->RotateMasterKey(*new_key);
    std::string text;
    if (r.ok()) {
      text = "re-wrapped " + std::to_string(r->value("rewrapped", 0)) +
             " data key(s) under master key " + r->value("fingerprint", "") + " (was " +
             r->value("previousFingerprint", "") +
             "); from now on only the new key opens the data: use --master-key-file " + *new_key +
             "\n";
      if (r->contains("removedDevelopmentKey")) {
        text += "removed the development key " + r->value("removedDevelopmentKey", "") + "\n";
      }
    }
    *exit_code = Print(ctx, r, text);
  });
}

}  // namespace loom::cli
