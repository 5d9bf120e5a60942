#pragma once

// The peers bench_ingest measures side by side with Loom, each started from Debian's package
// as a child process on a free loopback port in a temporary directory, stopped after the round.

#include <functional>
#include <optional>
#include <string>

#include "bench_util.h"

namespace loom::bench {

struct PeerConfig {
  const Workload* workload = nullptr;
  int connections = 4;
  std::string base_dir;  // temporary directories go under it
};

// Drives `send(connection, batch)` (true on a whole acknowledged batch) from one thread per
// connection over every batch of the workload; `server_cpu` reads the server's CPU seconds.
std::optional<Round> Drive(const Workload& w, int threads,
                           const std::function<bool(int, size_t)>& send,
                           const std::function<double()>& server_cpu);

// Each returns the round, or none with *why saying what was missing or failed.
std::optional<Round> RedisRound(const PeerConfig& c, std::string* why);
std::optional<Round> NatsRound(const PeerConfig& c, std::string* why);
std::optional<Round> PostgresRound(const PeerConfig& c, std::string* why);
// Loom over HTTP: `loom serve` as a child, the descriptor applied, JSON Lines batches POSTed.
std::optional<Round> LoomHttpRound(const PeerConfig& c, const std::string& loom_binary,
                                   const std::string& descriptor, std::string* why);

}  // namespace loom::bench
