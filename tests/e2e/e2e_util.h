#pragma once

// Drives the loom binary for end-to-end tests, in embedded mode or against a real `loom serve`.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testing/testing.h"

namespace loom::e2e {

enum class Mode { kEmbedded, kServer };

// A running `loom serve` child process on a free port; killed (SIGTERM) on destruction.
// Server mode always authenticates: before starting, it makes user:e2e-admin a member of
// group:loom-admins and creates its full-scope API token (token()), as an operator would.
class ServeProcess {
 public:
  // Starts `loom --data DIR serve --listen 127.0.0.1:PORT [extra...]` and waits for /healthz.
  explicit ServeProcess(const std::string& data_dir, const std::vector<std::string>& extra = {});
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  int pg_port() const { return pg_port_; }
  bool ok() const { return ok_; }
  // The administrator's API token ("loom_...").
  const std::string& token() const { return token_; }

 private:
  std::string token_;
  pid_t pid_ = -1;
  int port_ = 0;
  int pg_port_ = 0;
  std::string url_;
  bool ok_ = false;
};

// Runs loom commands against one data folder, either directly or through a server on it.
class Loom {
 public:
  Loom(Mode mode, const std::string& data_dir);
  // Runs `loom <global options> args...`.
  testing::CommandResult Run(const std::vector<std::string>& args,
                             const std::string& stdin_text = "");
  // Runs with --json and parses stdout (null on failure).
  nlohmann::json Json(const std::vector<std::string>& args);
  Mode mode() const { return mode_; }
  const std::string& server_url() const;
  const std::string& server_token() const;

 private:
  Mode mode_;
  std::string data_dir_;
  std::unique_ptr<ServeProcess> server_;
};

// Creates an API token in `data_dir` (embedded mode, as the local administrator) and returns
// its secret ("" on failure). `principal` "" = user:e2e-admin made a member of group:loom-admins.
std::string CreateToken(const std::string& data_dir, const std::string& principal,
                        const std::string& scopes);

// An HTTP GET/POST against a server with an optional Bearer token, returning {status, body}.
struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};
HttpResponse HttpGet(int port, const std::string& path, const std::string& token = "");
HttpResponse HttpPost(int port, const std::string& path, const std::string& body,
                      const std::string& content_type, const std::string& token = "");

}  // namespace loom::e2e
