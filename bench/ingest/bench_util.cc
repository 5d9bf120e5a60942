#include "bench_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace loom::bench {

namespace {

uint64_t SplitMix(uint64_t* s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string Uuid(uint64_t* s) {
  uint64_t a = SplitMix(s), b = SplitMix(s);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-a%03x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(b >> 52),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

}  // namespace

Workload MakeWorkload(size_t n, size_t batch_size) {
  static const char* kDevices[] = {"ios", "android", "web", "desktop", "speaker", "car"};
  static const char* kCountries[] = {"SE", "US", "DE", "GB", "BR", "JP", "IN", "FR"};
  Workload w;
  w.events.reserve(n);
  uint64_t seed = 42;
  char buf[1024];
  for (size_t i = 0; i < n; ++i) {
    uint64_t r = SplitMix(&seed);
    int ms = static_cast<int>(i % 1000);
    int sec = static_cast<int>((i / 1000) % 60), min = static_cast<int>((i / 60000) % 60);
    std::string id = Uuid(&seed);
    int len = std::snprintf(
        buf, sizeof buf,
        "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"/media-player/%s/app\","
        "\"type\":\"com.loom.media.play\",\"time\":\"2026-11-26T10:%02d:%02d.%03dZ\","
        "\"datacontenttype\":\"application/json\",\"data\":{\"event_id\":\"%s\","
        "\"user_id\":\"usr_%010llu\",\"track_id\":\"trk_%010llu\",\"artist_id\":\"art_%08llu\","
        "\"played_at\":\"2026-11-26T10:%02d:%02d.%03dZ\",\"duration_ms\":%llu,\"device\":\"%s\","
        "\"country\":\"%s\"}}",
        id.c_str(), kDevices[r % 6], min, sec, ms, id.c_str(),
        static_cast<unsigned long long>(r % 2000000),
        static_cast<unsigned long long>((r >> 21) % 50000000),
        static_cast<unsigned long long>((r >> 40) % 900000), min, sec, ms,
        static_cast<unsigned long long>((r >> 8) % 600000), kDevices[(r >> 3) % 6],
        kCountries[(r >> 13) % 8]);
    w.events.emplace_back(buf, static_cast<size_t>(len));
    w.total_bytes += static_cast<size_t>(len);
  }
  for (size_t b = 0; b < n; b += batch_size) {
    size_t e = std::min(n, b + batch_size);
    w.batch_ranges.emplace_back(b, e);
    std::string body;
    for (size_t i = b; i < e; ++i) {
      body += w.events[i];
      body.push_back('\n');
    }
    w.jsonl_batches.push_back(std::move(body));
  }
  return w;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

bool Child::Start(const std::vector<std::string>& argv, const std::string& log_path, int uid,
                  int gid) {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    setpgid(0, 0);
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      if (uid >= 0 && fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) _exit(126);
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    if (gid >= 0 && setgid(static_cast<gid_t>(gid)) != 0) _exit(126);
    if (uid >= 0 && setuid(static_cast<uid_t>(uid)) != 0) _exit(126);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  pid_ = pid;
  return true;
}

void Child::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

double Child::CpuSeconds() const {
  // The child leads its own process group: sum every process of it and its direct children
  // (PostgreSQL forks a backend per connection), reading utime + stime from /proc/<pid>/stat.
  if (pid_ <= 0) return 0;
  double ticks = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] < '0' || name[0] > '9') continue;
    std::ifstream in(entry.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    double t = 0;
    long pgrp = -1, ppid = -1;
    // Fields after the command: state(3) ppid(4) pgrp(5) ... utime(14) stime(15).
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 4) ppid = std::stol(field);
      if (i == 5) pgrp = std::stol(field);
      if (i >= 14) t += std::stod(field);
    }
    // PostgreSQL backends call setsid(): count the direct children too.
    if (pgrp == pid_ || ppid == pid_ || std::stol(name) == pid_) ticks += t;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int RunToCompletion(const std::vector<std::string>& argv, const std::string& log_path, int uid,
                    int gid) {
  Child c;
  if (!c.Start(argv, log_path, uid, gid)) return -1;
  return c.Wait();
}

int Child::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

int ConnectLoopback(int port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return -1;
}

bool WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string MakeTempDir(const std::string& base, const std::string& prefix) {
  std::string templ = base + "/" + prefix + "XXXXXX";
  char* p = mkdtemp(templ.data());
  return p == nullptr ? std::string() : std::string(p);
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace loom::bench
