// bench_ingest's HTTP mode: `loom serve` on a temporary data folder with the play-events
// descriptor applied, batches POSTed as JSON Lines from several client threads (cpp-httplib),
// authenticated as a member of the producing domain's owner group with an API token.

#include <httplib.h>

#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "peers.h"

namespace loom::bench {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A producer's API token: user:bench-producer joins group:media-player-team (the owners of
// play-events) and gets a token, through the CLI in embedded mode as an operator would. Empty
// with *why set on failure.
std::string ProducerToken(const std::string& loom_binary, const std::string& dir,
                          std::string* why) {
  const std::string data = dir + "/data", out = dir + "/token.json";
  if (RunToCompletion({loom_binary, "--data", data, "group", "add", "group:media-player-team",
                       "user:bench-producer"},
                      out) != 0)
    return *why = "loom group add failed: " + ReadFile(out).substr(0, 200), "";
  if (RunToCompletion({loom_binary, "--data", data, "--json", "token", "create", "--principal",
                       "user:bench-producer", "--scopes", "*", "--expires", "1d"},
                      out) != 0)
    return *why = "loom token create failed: " + ReadFile(out).substr(0, 200), "";
  std::string text = ReadFile(out);
  const std::string field = "\"secret\": \"";
  size_t at = text.find(field);
  size_t end = at == std::string::npos ? at : text.find('"', at + field.size());
  if (end == std::string::npos) return *why = "no secret in: " + text.substr(0, 200), "";
  return text.substr(at + field.size(), end - at - field.size());
}

}  // namespace

std::optional<Round> LoomHttpRound(const PeerConfig& c, const std::string& loom_binary,
                                   const std::string& descriptor, std::string* why) {
  if (access(loom_binary.c_str(), X_OK) != 0)
    return *why = "no loom binary at " + loom_binary + " (build the `loom` target)", std::nullopt;
  std::string dir = MakeTempDir(c.base_dir, "loom-http-");
  if (RunToCompletion({loom_binary, "apply", descriptor, "--data", dir + "/data"},
                      dir + "/apply.log") != 0) {
    std::ifstream log(dir + "/apply.log");
    std::string first_line;
    std::getline(log, first_line);
    RemoveTree(dir);
    return *why = "loom apply " + descriptor + " failed: " + first_line, std::nullopt;
  }
  std::string token = ProducerToken(loom_binary, dir, why);
  if (token.empty()) {
    RemoveTree(dir);
    return std::nullopt;
  }
  int port = FreePort();
  Child server;
  server.Start({loom_binary, "serve", "--data", dir + "/data", "--listen",
                "127.0.0.1:" + std::to_string(port)},
               dir + "/serve.log");
  int probe = ConnectLoopback(port, std::chrono::seconds(20));
  if (probe < 0) {
    RemoveTree(dir);
    return *why = "loom serve did not start", std::nullopt;
  }
  close(probe);
  const std::string path = "/v1/products/media-player/play-events/ports/events/events";
  const Workload& w = *c.workload;
  {
    httplib::Client cli("127.0.0.1", port);
    cli.set_bearer_token_auth(token);
    // A probe event of its own: one of the workload's would make the first batch hold a
    // duplicate (accepted 999, not 1000).
    std::string probe_event = w.events[0];
    if (size_t at = probe_event.find("\"id\":\""); at != std::string::npos) {
      probe_event.insert(at + 6, "probe-");
    }
    auto res = cli.Post(path, probe_event, "application/cloudevents+json");
    if (!res || res->status == 404 || res->status == 405 || res->status == 501) {
      server.Stop();
      RemoveTree(dir);
      return *why = "loom serve has no POST " + path + " yet (status " +
                    (res ? std::to_string(res->status) : std::string("none")) + ")",
             std::nullopt;
    }
  }
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (int i = 0; i < c.connections; ++i) {
    clients.push_back(std::make_unique<httplib::Client>("127.0.0.1", port));
    clients.back()->set_keep_alive(true);
    clients.back()->set_bearer_token_auth(token);
    clients.back()->set_read_timeout(60, 0);
  }
  std::mutex why_mu;
  auto round = Drive(
      w, c.connections,
      [&](int t, size_t b) {
        auto res =
            clients[static_cast<size_t>(t)]->Post(path, w.jsonl_batches[b], "application/x-ndjson");
        size_t want = w.batch_ranges[b].second - w.batch_ranges[b].first;
        bool ok = res && res->status >= 200 && res->status < 300 &&
                  res->body.find("\"accepted\":" + std::to_string(want) + ",") != std::string::npos;
        if (!ok) {
          std::lock_guard<std::mutex> lock(why_mu);
          *why = res ? "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 200)
                     : "HTTP request failed";
        }
        return ok;
      },
      [&] { return server.CpuSeconds(); });
  clients.clear();
  server.Stop();
  RemoveTree(dir);
  return round;
}

}  // namespace loom::bench
