#pragma once

// Runs an admitted query into a Parquet file in the scratch space: the table module validates and
// publishes files, and the query never runs outside its caller's closed session. Used by
// PublishTableQuery and by pipeline runs. Internal to platform/.

#include <string>

#include "core/core.h"
#include "platform/platform.h"

namespace loom::platform {

// Writes the query's result as Parquet to a new file under `dir` (created if missing) and
// returns its path; the caller deletes it after publishing. On failure nothing is left behind.
Result<std::string> RunToScratchParquet(Platform::PreparedQuery& query, const std::string& dir);

}  // namespace loom::platform
