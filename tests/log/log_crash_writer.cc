// Helper for crash_test.cc: appends heavily to a log from several threads and prints, only
// after each acknowledgement, one line per record: "<partition> <offset> <payload id>\n".
// Usage: log_crash_writer <dir> <round> [<data key, 64 hex digits>]: with a key, the log is
// encrypted with it (security::Cipher). Runs until killed.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "log/log.h"
#include "security/security.h"

namespace {

constexpr int kPartitions = 4;
constexpr int kThreads = 4;

std::mutex out_mu;

void Print(const std::string& lines) {
  std::lock_guard l(out_mu);
  const char* p = lines.data();
  size_t left = lines.size();
  while (left > 0) {
    ssize_t n = ::write(1, p, left);
    if (n <= 0) std::_Exit(3);
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: log_crash_writer <dir> <round> [<key hex>]\n");
    return 2;
  }
  std::optional<loom::security::Cipher> cipher;
  if (argc == 4) {
    auto key = loom::security::MasterKey::FromHex(argv[3]);
    if (!key.ok()) return 2;
    cipher.emplace(*loom::security::Cipher::FromKey(key->bytes()));
  }
  loom::log::LogOptions options;
  if (cipher) {
    options.cipher = &*cipher;
    options.encryption_context = "loom://crash/test";
  }
  options.partitions = kPartitions;
  options.segment_max_bytes = 64 << 10;  // rolls happen while being killed
  options.index_interval_bytes = 1024;
  auto log = loom::log::Log::Open(argv[1], options);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    return 1;
  }
  const int64_t round = std::atoll(argv[2]);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int64_t seq = 0;
      std::vector<std::string> values;
      std::vector<loom::log::Record> records;
      for (int64_t i = 0;; ++i) {
        const int n = 1 + static_cast<int>(i % 8);
        const int32_t partition = static_cast<int32_t>((t + i) % kPartitions);
        values.clear();
        records.clear();
        for (int k = 0; k < n; ++k) {
          int64_t id = round * 1'000'000'000'000 + int64_t{t} * 1'000'000'000 + seq++;
          values.push_back("id=" + std::to_string(id) + ";" + std::string(40 + k, 'v'));
        }
        for (const std::string& v : values) records.push_back({i, "", v});
        auto r = (*log)->Append(partition, records);
        if (!r.ok()) {
          std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
          std::_Exit(1);
        }
        std::string lines;
        for (int k = 0; k < n; ++k) {
          lines += std::to_string(partition) + " " + std::to_string(r->first.value + k) + " " +
                   values[k].substr(3, values[k].find(';') - 3) + "\n";
        }
        Print(lines);
      }
    });
  }
  for (auto& t : threads) t.join();
  return 0;
}
