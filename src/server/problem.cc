#include <string>

#include "server/server.h"

namespace loom::server {
namespace {

struct Mapping {
  StatusCode code;
  int http;
  const char* slug;
};

// The one table: status code -> HTTP status and problem type.
constexpr Mapping kMappings[] = {
    {StatusCode::kOk, 200, "ok"},
    {StatusCode::kInvalidArgument, 400, "invalid-argument"},
    {StatusCode::kNotFound, 404, "not-found"},
    {StatusCode::kAlreadyExists, 409, "already-exists"},
    {StatusCode::kFailedPrecondition, 409, "failed-precondition"},
    {StatusCode::kPermissionDenied, 403, "permission-denied"},
    {StatusCode::kUnauthenticated, 401, "unauthenticated"},
    {StatusCode::kResourceExhausted, 413, "resource-exhausted"},
    {StatusCode::kAborted, 409, "aborted"},
    {StatusCode::kUnavailable, 503, "unavailable"},
    {StatusCode::kDataLoss, 500, "data-loss"},
    {StatusCode::kDeadlineExceeded, 504, "deadline-exceeded"},
    {StatusCode::kCancelled, 499, "cancelled"},
    {StatusCode::kUnimplemented, 501, "unimplemented"},
    {StatusCode::kInternal, 500, "internal"},
};

const Mapping& Find(StatusCode code) {
  for (const Mapping& m : kMappings) {
    if (m.code == code) return m;
  }
  return kMappings[sizeof kMappings / sizeof kMappings[0] - 1];
}

constexpr std::string_view kTypePrefix = "/v1/problems/";

}  // namespace

int HttpStatusFor(StatusCode code) { return Find(code).http; }

std::string ProblemType(StatusCode code) { return std::string(kTypePrefix) + Find(code).slug; }

StatusCode CodeFromProblemType(std::string_view type) {
  if (!type.starts_with(kTypePrefix)) return StatusCode::kInternal;
  type.remove_prefix(kTypePrefix.size());
  for (const Mapping& m : kMappings) {
    if (type == m.slug) return m.code;
  }
  return StatusCode::kInternal;
}

nlohmann::json ProblemJson(const Status& status, std::string_view instance) {
  nlohmann::json errors = nlohmann::json::array();
  const std::string& msg = status.message();
  size_t start = 0;
  while (start <= msg.size()) {
    size_t nl = msg.find('\n', start);
    std::string line = msg.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty()) errors.push_back(line);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return {{"type", ProblemType(status.code())},
          {"title", std::string(StatusCodeName(status.code()))},
          {"status", HttpStatusFor(status.code())},
          {"detail", msg},
          {"instance", std::string(instance)},
          {"errors", errors}};
}

}  // namespace loom::server
