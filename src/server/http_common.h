#pragma once

// Helpers the HTTP handlers share (private to server/): rendering results and problems, reading
// parameters and JSON bodies. Stateless; thread-safe.

#include <httplib.h>

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/core.h"
#include "platform/platform.h"

namespace loom::server {

void Send(httplib::Response& res, const nlohmann::json& body, int status = 200);
void SendProblem(const httplib::Request& req, httplib::Response& res, const Status& status);
void Reply(const httplib::Request& req, httplib::Response& res,
           const Result<nlohmann::json>& result);
std::optional<std::string> Param(const httplib::Request& req, const char* name);
Result<uint32_t> UintParam(const httplib::Request& req, const char* name, uint32_t fallback);
// kInvalidArgument unless the body is a JSON object.
Result<nlohmann::json> ParseJsonBody(const httplib::Request& req);

// /v1/tokens, /v1/grants, /v1/groups, /v1/audit (security_routes.cc). `caller` returns the
// authenticated caller of the request being handled.
void SecurityRoutes(httplib::Server& http, platform::Platform& platform,
                    std::function<platform::Caller()> caller);

}  // namespace loom::server
