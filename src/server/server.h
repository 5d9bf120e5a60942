#pragma once

// The HTTP API of `loom serve`: /v1/... as JSON, errors as RFC 9457 problem+json, the OpenAPI
// document at /v1/openapi.json, /healthz. Thin: every handler parses, calls platform::Platform,
// and renders. The one table from status codes to HTTP statuses and problem types lives here.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/core.h"
#include "platform/platform.h"

namespace loom::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  // HTTPS (docs/security.md, "TLS"): PEM files of the server certificate (chain) and its private
  // key. When set, the port speaks only TLS: a plain HTTP request gets no answer.
  std::string tls_cert_file = {};
  std::string tls_key_file = {};
};

// The HTTP status for a code: the one table.
int HttpStatusFor(StatusCode code);
// "/v1/problems/not-found" for kNotFound.
std::string ProblemType(StatusCode code);
// The code a problem type names (for clients); kInternal when unknown.
StatusCode CodeFromProblemType(std::string_view type);
// RFC 9457 body for a failed call: type, title, status, detail, and "errors" (one per line of the
// message, e.g. one per descriptor diagnostic).
nlohmann::json ProblemJson(const Status& status, std::string_view instance);

// A running HTTP server. Start() binds and serves on a background thread; Stop() (or the
// destructor) shuts it down. Thread-safe: Stop may be called from any thread, e.g. a signal
// watcher. `platform` is not owned and must outlive the Server.
class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(platform::Platform& platform,
                                               const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // Blocks until Stop() is called from another thread.
  void Wait();
  void Stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom::server
