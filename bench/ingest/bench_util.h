#pragma once

// Shared pieces of bench_ingest: the workload, child processes, sockets, and the figures.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace loom::bench {

// The workload: N play events (~400 bytes of CloudEvents JSON each), in batches.
struct Workload {
  std::vector<std::string> events;                      // one structured event each
  std::vector<std::string> jsonl_batches;               // `batch_size` events per JSON Lines body
  std::vector<std::pair<size_t, size_t>> batch_ranges;  // [begin, end) into events
  size_t total_bytes = 0;
};
Workload MakeWorkload(size_t events, size_t batch_size);

// What one round of one system measured.
struct Round {
  double seconds = 0;
  double events_per_sec = 0;
  double mb_per_sec = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double cpu_us_per_event = 0;  // this process + the server process, per event
};

// The per-batch ack latencies of a round, in µs, to percentiles.
double Percentile(std::vector<double> v, double p);

// A child process (a peer's server) in its own process group, stopped on destruction.
class Child {
 public:
  Child() = default;
  // Starts argv; stdout/stderr go to log_path; run_as_uid >= 0 drops to that user (and gid).
  bool Start(const std::vector<std::string>& argv, const std::string& log_path, int uid = -1,
             int gid = -1);
  void Stop();
  // Waits for the child to exit on its own; its exit code (-1 if killed).
  int Wait();
  ~Child() { Stop(); }
  pid_t pid() const { return pid_; }
  // user + system CPU seconds of the child so far (from /proc).
  double CpuSeconds() const;

 private:
  pid_t pid_ = -1;
};

// Runs argv to completion (optionally as another user); returns its exit code.
int RunToCompletion(const std::vector<std::string>& argv, const std::string& log_path, int uid = -1,
                    int gid = -1);

int FreePort();
// A TCP connection to 127.0.0.1:port, retried until `timeout`; -1 on failure.
int ConnectLoopback(int port, std::chrono::milliseconds timeout);
bool WriteAll(int fd, const char* data, size_t n);
double ProcessCpuSeconds();  // this process, user + system
std::string MakeTempDir(const std::string& base, const std::string& prefix);
void RemoveTree(const std::string& path);

}  // namespace loom::bench
