#pragma once

#include <nlohmann/json.hpp>

namespace loom::server {

// The OpenAPI 3.1 document of the HTTP API, served at /v1/openapi.json.
const nlohmann::json& OpenApiDocument();

}  // namespace loom::server
