// bench_log: log/ append and scan throughput against the disk ceiling.
//
// For batches of 256 and of 1 record, without and with zstd: 4 producer threads append ~350-byte
// records to one partition with fsync always (group commit), printing records/s, MB/s and
// p50/p99 ack latency; then a full scan (records/s). Baseline, measured in the same run: raw
// sequential write + fdatasync of the same bytes in chunks of one group (4 producers x batch).
// Medians over the rounds. Usage:
//   bench_log [--records N] [--single-records N] [--rounds R] [--dir DIR]
// (--single-records: records for the batch-of-1 runs, where every ack waits for a sync.)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/file_system.h"
#include "log/log.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kProducers = 4;

struct Args {
  int64_t records = 1'000'000;
  int64_t single_records = 20'000;
  int rounds = 5;
  std::string dir = "bench-log-data";
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ~350-byte JSON-ish values, varied enough that zstd has real work.
std::vector<std::string> MakeValues(int n) {
  std::mt19937_64 rng(42);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string v = "{\"event\":\"play\",\"user\":\"u" + std::to_string(rng() % 100000) +
                    "\",\"track\":\"t" + std::to_string(rng() % 1000000) + "\",\"device\":\"" +
                    (rng() % 2 ? "android" : "ios") +
                    "\",\"ms\":" + std::to_string(rng() % 300000) + ",\"pad\":\"";
    while (v.size() < 330) v += static_cast<char>('a' + rng() % 26);
    v += "\"}";
    out.push_back(std::move(v));
  }
  return out;
}

struct RunResult {
  double records_per_s = 0;
  double mb_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  double scan_records_per_s = 0;
  double bytes = 0;
};

RunResult RunLog(const Args& a, int64_t records, int batch, loom::log::Compression c,
                 const std::vector<std::string>& values, bool scan) {
  loom::FileSystem& fs = *loom::FileSystem::Default();
  (void)fs.DeleteDirRecursively(a.dir);
  loom::log::LogOptions o;
  o.compression = c;
  auto log = loom::log::Log::Open(a.dir, o);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    std::exit(1);
  }
  const int64_t per_thread = records / kProducers / batch;
  std::vector<std::vector<double>> lat(kProducers);
  std::vector<double> bytes(kProducers, 0);
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kProducers; ++t) {
    threads.emplace_back([&, t] {
      std::vector<loom::log::Record> recs(batch);
      std::string key = "key-" + std::to_string(t);
      for (int64_t i = 0; i < per_thread; ++i) {
        for (int k = 0; k < batch; ++k) {
          const std::string& v = values[(i * batch + k + t * 7) % values.size()];
          recs[k] = {1'700'000'000'000'000 + i, key, v};
          bytes[t] += static_cast<double>(key.size() + v.size());
        }
        auto s = Clock::now();
        auto r = (*log)->Append(0, recs);
        lat[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
        if (!r.ok()) {
          std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
          std::exit(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  RunResult out;
  const double n = static_cast<double>(per_thread * kProducers * batch);
  for (double b : bytes) out.bytes += b;
  out.records_per_s = n / secs;
  out.mb_per_s = out.bytes / secs / 1e6;
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  out.p50_us = all[all.size() / 2];
  out.p99_us = all[all.size() * 99 / 100];
  if (scan) {
    int64_t seen = 0;
    size_t sum = 0;
    auto s = Clock::now();
    auto r = (*log)->Read(0, loom::log::Offset(0), loom::log::ReadOptions{},
                          [&](const loom::log::RecordView& v) {
                            ++seen;
                            sum += v.value.size();
                            return true;
                          });
    double ss = std::chrono::duration<double>(Clock::now() - s).count();
    if (!r.ok() || seen != static_cast<int64_t>(n)) {
      std::fprintf(stderr, "scan failed: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
    out.scan_records_per_s = static_cast<double>(seen) / ss;
  }
  (void)(*log)->Close();
  return out;
}

// The disk ceiling: the same bytes written sequentially, one fdatasync per group-sized chunk.
double RawMbPerSecond(const Args& a, double total_bytes, size_t chunk) {
  loom::FileSystem& fs = *loom::FileSystem::Default();
  (void)fs.DeleteDirRecursively(a.dir);
  (void)fs.CreateDirs(a.dir);
  auto f = fs.NewWritableFile(loom::JoinPath(a.dir, "raw"), loom::OpenMode::kTruncate);
  if (!f.ok()) std::exit(1);
  std::string buf(chunk, 'x');
  auto t0 = Clock::now();
  for (double done = 0; done < total_bytes; done += static_cast<double>(chunk)) {
    if (!(*f)->Append(buf).ok() || !(*f)->Sync().ok()) std::exit(1);
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  (void)(*f)->Close();
  return total_bytes / secs / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--records")
      a.records = std::atoll(argv[i + 1]);
    else if (k == "--single-records")
      a.single_records = std::atoll(argv[i + 1]);
    else if (k == "--rounds")
      a.rounds = std::atoi(argv[i + 1]);
    else if (k == "--dir")
      a.dir = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  const std::vector<std::string> values = MakeValues(4096);
  std::printf(
      "bench_log: %d producers -> 1 partition, fsync always, ~%zu-byte records, "
      "median of %d rounds\n",
      kProducers, values[0].size() + 6, a.rounds);
  std::printf("%-22s %12s %9s %9s %9s %12s %10s %8s\n", "config", "records/s", "MB/s", "p50 us",
              "p99 us", "scan rec/s", "raw MB/s", "ratio");
  for (int batch : {256, 1}) {
    for (auto c : {loom::log::Compression::kNone, loom::log::Compression::kZstd}) {
      const int64_t n = batch == 1 ? a.single_records : a.records;
      std::vector<double> rps, mbs, p50, p99, scan, raw;
      for (int r = 0; r < a.rounds; ++r) {
        RunResult res = RunLog(a, n, batch, c, values, batch != 1);
        rps.push_back(res.records_per_s);
        mbs.push_back(res.mb_per_s);
        p50.push_back(res.p50_us);
        p99.push_back(res.p99_us);
        scan.push_back(res.scan_records_per_s);
        size_t chunk = static_cast<size_t>(res.bytes / static_cast<double>(n)) * batch * kProducers;
        raw.push_back(RawMbPerSecond(a, res.bytes, chunk));
      }
      char name[64];
      std::snprintf(name, sizeof(name), "batch %d %s (%lld)", batch,
                    c == loom::log::Compression::kZstd ? "zstd" : "none",
                    static_cast<long long>(n));
      std::printf("%-22s %12.0f %9.1f %9.0f %9.0f %12.0f %10.1f %7.2fx\n", name, Median(rps),
                  Median(mbs), Median(p50), Median(p99), Median(scan), Median(raw),
                  Median(mbs) / Median(raw));
      std::fflush(stdout);
    }
  }
  (void)loom::FileSystem::Default()->DeleteDirRecursively(a.dir);
  return 0;
}
