#pragma once

// The steps of `loom demo` told from their own files (private to platform/).

#include <string>

#include "platform/demo_story.h"
#include "platform/platform.h"

namespace loom::platform::demo {

// Quality runs of every table port with expectations, a refused version (a duplicated artist
// in `artists_jsonl`, written next to the other inputs in `input_dir`), and the SLOs sampled.
Status TellQuality(Platform& p, Story& story, const Caller& admin, const std::string& artists_jsonl,
                   const std::string& input_dir);
// `sql` as user:ada of group:analysts (masked) and as user:outsider (refused).
Status TellAccess(Platform& p, Story& story, const Caller& admin, const std::string& sql);
// The refusals of the audit log, and the hash chain verified.
Status TellAudit(Platform& p, Story& story, const Caller& admin);
// No file under `data_dir` holds `known_email`, a value of the confidential users/profiles.
Status TellEncryption(Platform& p, Story& story, const std::string& data_dir,
                      const std::string& known_email);

}  // namespace loom::platform::demo
