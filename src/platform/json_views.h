#pragma once

// The JSON shapes of catalog values that the API returns (private to platform/).

#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"

namespace loom::platform {

nlohmann::json ChangeJson(const catalog::Change& change);
nlohmann::json SummaryJson(const catalog::ProductSummary& summary);
nlohmann::json VersionJson(const catalog::StoredDocument& doc);
// The stored product body, with each port's address, SQL name and HTTP path, and its versions.
nlohmann::json ProductJson(const catalog::StoredDocument& doc,
                           const std::vector<catalog::StoredDocument>& versions);

}  // namespace loom::platform
