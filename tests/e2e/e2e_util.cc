#include "e2e/e2e_util.h"

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace loom::e2e {

std::string CreateToken(const std::string& data_dir, const std::string& principal,
                        const std::string& scopes) {
  std::string who = principal;
  if (who.empty()) {
    who = "user:e2e-admin";
    testing::CommandResult added = testing::RunCommand(
        {testing::LoomBinary(), "--data", data_dir, "group", "add", "group:loom-admins", who});
    if (added.exit_code != 0) return "";
  }
  testing::CommandResult r =
      testing::RunCommand({testing::LoomBinary(), "--data", data_dir, "--json", "token", "create",
                           "--principal", who, "--scopes", scopes, "--expires", "1d"});
  if (r.exit_code != 0) return "";
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_object() ? j.value("secret", "") : "";
}

ServeProcess::ServeProcess(const std::string& data_dir, const std::vector<std::string>& extra) {
  token_ = CreateToken(data_dir, "", "*");
  if (token_.empty()) return;
  port_ = testing::FreePort();
  url_ = "http://127.0.0.1:" + std::to_string(port_);
  std::string listen = "127.0.0.1:" + std::to_string(port_);
  pg_port_ = testing::FreePort();
  std::string pg_listen = "127.0.0.1:" + std::to_string(pg_port_);
  pid_ = fork();
  if (pid_ == 0) {
    // Quiet child: its stdout is not needed.
    freopen("/dev/null", "w", stdout);
    std::vector<std::string> args = {"loom",     "--data", data_dir,      "serve",
                                     "--listen", listen,   "--pg-listen", pg_listen};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(testing::LoomBinary().c_str(), argv.data());
    _exit(127);
  }
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(0, 200000);
  for (int i = 0; i < 200; ++i) {
    if (auto res = client.Get("/healthz"); res && res->status == 200) {
      ok_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
}

Loom::Loom(Mode mode, const std::string& data_dir) : mode_(mode), data_dir_(data_dir) {
  if (mode_ == Mode::kServer) server_ = std::make_unique<ServeProcess>(data_dir_);
}

const std::string& Loom::server_url() const { return server_->url(); }
const std::string& Loom::server_token() const { return server_->token(); }

testing::CommandResult Loom::Run(const std::vector<std::string>& args,
                                 const std::string& stdin_text) {
  std::vector<std::string> argv = {testing::LoomBinary()};
  if (mode_ == Mode::kServer) {
    argv.push_back("--server");
    argv.push_back(server_->url());
    argv.push_back("--token");
    argv.push_back(server_->token());
  } else {
    argv.push_back("--data");
    argv.push_back(data_dir_);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunCommand(argv, stdin_text);
}

nlohmann::json Loom::Json(const std::vector<std::string>& args) {
  std::vector<std::string> a = {"--json"};
  a.insert(a.end(), args.begin(), args.end());
  testing::CommandResult r = Run(a);
  if (r.exit_code != 0) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, false);
}

HttpResponse HttpGet(int port, const std::string& path, const std::string& token) {
  httplib::Client client("127.0.0.1", port);
  if (!token.empty()) client.set_bearer_token_auth(token.c_str());
  HttpResponse out;
  if (auto res = client.Get(path)) {
    out.status = res->status;
    out.content_type = res->get_header_value("Content-Type");
    out.body = res->body;
  }
  return out;
}

HttpResponse HttpPost(int port, const std::string& path, const std::string& body,
                      const std::string& content_type, const std::string& token) {
  httplib::Client client("127.0.0.1", port);
  if (!token.empty()) client.set_bearer_token_auth(token.c_str());
  HttpResponse out;
  if (auto res = client.Post(path, body, content_type)) {
    out.status = res->status;
    out.content_type = res->get_header_value("Content-Type");
    out.body = res->body;
  }
  return out;
}

}  // namespace loom::e2e
