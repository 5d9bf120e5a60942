// Crash acceptance: kill -9 a real process during heavy ingest, 50 rounds on one log directory;
// every acknowledged record must be readable, in order per partition, exactly once.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "log/log.h"
#include "log/log_test_util.h"
#include "security/security.h"
#include "testing/testing.h"

namespace loom::log {
namespace {

struct Ack {
  int32_t partition;
  int64_t offset;
  int64_t id;
};

// Runs the writer, kills it with SIGKILL `run_ms` after its first acknowledgement, and returns
// the acknowledgements it printed (complete lines only).
std::vector<Ack> RunAndKill(const std::string& dir, int round, int run_ms,
                            const std::string& key_hex = "") {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    std::string r = std::to_string(round);
    if (key_hex.empty()) {
      ::execl(LOOM_LOG_CRASH_WRITER, LOOM_LOG_CRASH_WRITER, dir.c_str(), r.c_str(),
              static_cast<char*>(nullptr));
    } else {
      ::execl(LOOM_LOG_CRASH_WRITER, LOOM_LOG_CRASH_WRITER, dir.c_str(), r.c_str(), key_hex.c_str(),
              static_cast<char*>(nullptr));
    }
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool started = false;
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    pollfd p{fds[0], POLLIN, 0};
    int wait = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
    if (::poll(&p, 1, wait) <= 0) continue;
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (!started) {
      started = true;
      deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
    }
  }
  ::kill(pid, SIGKILL);
  while (true) {
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer ended on its own (status " << status << ")";
  out.resize(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  std::vector<Ack> acks;
  std::istringstream in(out);
  Ack a;
  while (in >> a.partition >> a.offset >> a.id) acks.push_back(a);
  return acks;
}

// Kills the writer `rounds` times and checks after each round that every acknowledged record
// is there, in order, exactly once. With a key, the log is encrypted.
void KillRounds(int rounds, const std::string& key_hex) {
  testing::TempDir dir;
  const std::string log_dir = dir.Sub("port");
  std::mt19937 rng(20240601);
  std::vector<Ack> acked;
  int64_t total_stored = 0;
  std::optional<security::Cipher> cipher;
  LogOptions options = WithPartitions(4);
  if (!key_hex.empty()) {
    cipher.emplace(*security::Cipher::FromKey(security::MasterKey::FromHex(key_hex)->bytes()));
    options.cipher = &*cipher;
    options.encryption_context = "loom://crash/test";
  }
  for (int round = 0; round < rounds; ++round) {
    std::vector<Ack> acks = RunAndKill(log_dir, round, 20 + static_cast<int>(rng() % 80), key_hex);
    ASSERT_FALSE(acks.empty()) << "round " << round << ": the writer acknowledged nothing";
    acked.insert(acked.end(), acks.begin(), acks.end());

    auto log = Log::Open(log_dir, options);
    ASSERT_TRUE(log.ok()) << "round " << round << ": " << log.status().ToString();
    std::set<int64_t> ids;
    total_stored = 0;
    std::vector<std::map<int64_t, int64_t>> by_offset(4);  // offset -> id
    for (int32_t p = 0; p < 4; ++p) {
      std::map<int64_t, int64_t> last_seq;  // producer -> last id seen in this partition
      int64_t expected = 0;
      auto r = (*log)->Read(p, Offset(0), ReadOptions{}, [&](const RecordView& v) {
        EXPECT_EQ(v.offset.value, expected++) << "offsets not consecutive";
        int64_t id = std::stoll(std::string(v.value.substr(3, v.value.find(';') - 3)));
        EXPECT_TRUE(ids.insert(id).second) << "id " << id << " stored twice";
        int64_t producer = id / 1'000'000'000;
        auto it = last_seq.find(producer);
        EXPECT_TRUE(it == last_seq.end() || it->second < id) << "out of order in partition " << p;
        last_seq[producer] = id;
        by_offset[p][v.offset.value] = id;
        ++total_stored;
        return true;
      });
      ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.status().ToString();
    }
    for (const Ack& a : acked) {
      auto it = by_offset[a.partition].find(a.offset);
      ASSERT_TRUE(it != by_offset[a.partition].end())
          << "round " << round << ": acknowledged " << a.partition << "/" << a.offset << " lost";
      ASSERT_EQ(it->second, a.id) << "round " << round << ": wrong record at " << a.partition << "/"
                                  << a.offset;
    }
    ASSERT_TRUE((*log)->Close().ok());
  }
  EXPECT_GE(total_stored, static_cast<int64_t>(acked.size()));
  std::cout << "crash test" << (key_hex.empty() ? "" : " (encrypted)") << ": " << acked.size()
            << " acknowledged, " << total_stored << " stored after " << rounds << " kills\n";
}

TEST(CrashTest, EveryAcknowledgedRecordSurvivesFiftyKillNineRounds) { KillRounds(50, ""); }

TEST(CrashTest, EveryAcknowledgedEncryptedRecordSurvivesTwentyKillNineRounds) {
  KillRounds(20, security::MasterKey::Generate().Hex());
}

}  // namespace
}  // namespace loom::log
