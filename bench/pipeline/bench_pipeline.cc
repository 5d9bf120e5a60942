// bench_pipeline: end-to-end freshness of a streaming pipeline. Producers publish play events
// into a source stream port at a target rate; a consumer product's streaming pipeline (run by
// the platform's background jobs, as in `loom serve`) appends them to its own stream port; a
// reader long-polls that output. Freshness of an event = the time from its acknowledgement on
// the source to its effect being readable in the consumer's output. Readers take pages as the
// HTTP API serves them (Platform::ReadEventsText) and parse them with simdjson.
//   bench_pipeline [--data DIR] [--rate EVENTS_PER_S] [--seconds S] [--batch N] [--tick-ms T]
//                  [--producers P]
// Prints p50/p99/max freshness, the rate reached, and the baseline measured side by side: a
// direct reader long-polling the source port itself (the ratio pipeline/direct at p99).
// Target: p99 < 1 s at 100,000 events/s.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

#include "platform/platform.h"

namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kMesh = R"(apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: media-player
  name: play-events
  version: 1.0.0
  title: Plays
  description: Source events.
  owner: group:player
spec:
  schema:
    fields:
      - {name: play_id, type: string, required: true}
      - {name: user_id, type: string, required: true}
      - {name: track_id, type: string, required: true}
      - {name: played_at, type: timestamp, required: true}
  outputPorts:
    - name: events
      kind: stream
      stream: {partitions: 4, partitionKey: [user_id], eventTime: played_at}
  access:
    - {principal: service:listening, permissions: [read]}
---
apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: listening
  name: fresh-plays
  version: 1.0.0
  title: Fresh plays
  description: The plays as they happen.
  owner: group:listening
spec:
  alignment: consumer
  schema:
    fields:
      - {name: play_id, type: string, required: true}
      - {name: user_id, type: string, required: true}
      - {name: track_id, type: string, required: true}
      - {name: played_at, type: timestamp, required: true}
  outputPorts:
    - name: plays
      kind: stream
      stream: {partitions: 4, partitionKey: [user_id], eventTime: played_at}
  inputPorts:
    - {alias: plays, address: loom://media-player/play-events/events}
  transform:
    output: plays
    mode: streaming
    sql: SELECT * FROM plays WHERE track_id <> 'none'
)";

[[noreturn]] void Die(const std::string& what, const loom::Status& s) {
  std::fprintf(stderr, "bench_pipeline: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

// Acknowledgement times of source events by (partition, offset).
struct Acks {
  std::mutex mu;
  std::map<std::pair<int, int64_t>, SteadyClock::time_point> at;
  void Put(int p, int64_t o, SteadyClock::time_point t) {
    std::lock_guard<std::mutex> lock(mu);
    at[{p, o}] = t;
  }
  bool Get(int p, int64_t o, SteadyClock::time_point* t) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = at.find({p, o});
    if (it == at.end()) return false;
    *t = it->second;
    return true;
  }
};

struct Seen {
  int partition = 0;
  int64_t offset = 0;
  SteadyClock::time_point at;
};

// Long-polls `port` from the start until `expected` events or `stop`, reading pages as the HTTP
// API serves them (Platform::ReadEventsText); `key` gives each event's source (partition,
// offset). Latencies are computed at the end, when every ack time is known.
template <typename KeyFn>
std::vector<Seen> Follow(loom::platform::Platform& p, const std::string& port,
                         std::atomic<bool>& stop, int64_t expected, KeyFn key) {
  std::vector<Seen> out;
  loom::platform::Caller admin;
  loom::platform::Platform::ReadRequest req;
  req.max_events = 20000;
  req.wait_ms = 20;
  loom::Address a = *loom::Address::Parse(port);
  simdjson::dom::parser parser;
  while (static_cast<int64_t>(out.size()) < expected && !stop.load()) {
    loom::Result<std::string> page = p.ReadEventsText(admin, a, req);
    if (!page.ok()) Die("read " + port, page.status());
    auto now = SteadyClock::now();
    simdjson::dom::element doc;
    if (parser.parse(*page).get(doc) != simdjson::SUCCESS) {
      Die("read " + port, loom::Internal("the page is not JSON"));
    }
    for (simdjson::dom::element e : doc["events"].get_array()) {
      Seen s;
      s.at = now;
      key(e, &s.partition, &s.offset);
      out.push_back(s);
    }
    req.offsets.clear();
    for (auto [k, v] : doc["next"].get_object()) {
      req.offsets[std::stoi(std::string(k))] = v.get_int64().value();
    }
  }
  return out;
}

std::vector<double> Latencies(const std::vector<Seen>& seen, Acks& acks) {
  std::vector<double> ms;
  for (const Seen& s : seen) {
    SteadyClock::time_point acked;
    if (!acks.Get(s.partition, s.offset, &acked)) continue;
    ms.push_back(std::max(0.0, std::chrono::duration<double, std::milli>(s.at - acked).count()));
  }
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "bench-pipeline-data";
  int64_t rate = 100000, seconds = 10, batch = 1000, tick_ms = 20, producers = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--data")
      data = v;
    else if (k == "--rate")
      rate = std::stoll(v);
    else if (k == "--seconds")
      seconds = std::stoll(v);
    else if (k == "--batch")
      batch = std::stoll(v);
    else if (k == "--tick-ms")
      tick_ms = std::stoll(v);
    else if (k == "--producers")
      producers = std::max<int64_t>(1, std::stoll(v));
    else {
      std::fprintf(stderr, "bench_pipeline: unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  std::filesystem::remove_all(data);
  loom::platform::Options options;
  options.data_dir = data;
  options.pipeline_tick = std::chrono::milliseconds(tick_ms);
  auto opened = loom::platform::Platform::Open(options);
  if (!opened.ok()) Die("open", opened.status());
  loom::platform::Platform& p = **opened;
  loom::platform::Caller admin;
  if (auto r = p.Apply(admin, {{"bench.yaml", kMesh}}, false); !r.ok()) Die("apply", r.status());

  const int64_t total = rate * seconds;
  const std::string source = "loom://media-player/play-events/events";
  const std::string output = "loom://listening/fresh-plays/plays";
  Acks acks;
  std::atomic<bool> stop{false};
  std::vector<Seen> direct_seen, piped_seen;
  // The baseline and the measured path read side by side while the producer runs.
  std::thread direct_reader([&] {
    direct_seen =
        Follow(p, source, stop, total, [](simdjson::dom::element e, int* sp, int64_t* so) {
          *sp = static_cast<int>(e["partition"].get_int64().value());
          *so = e["offset"].get_int64().value();
        });
  });
  std::thread piped_reader([&] {
    piped_seen = Follow(p, output, stop, total, [](simdjson::dom::element e, int* sp, int64_t* so) {
      // <input port>/<partition>/<offset>
      std::string id(e["event"]["id"].get_string().value());
      size_t b = id.rfind('/');
      size_t a = id.rfind('/', b - 1);
      *sp = std::stoi(id.substr(a + 1, b - a - 1));
      *so = std::stoll(id.substr(b + 1));
    });
  });
  p.StartBackgroundJobs(std::chrono::seconds(60));

  auto start = SteadyClock::now();
  loom::Address src = *loom::Address::Parse(source);
  // Producers take batches in turn (producer k sends batches k, k + P, ...), each paced: batch
  // j goes out at start + j * batch / rate. Concurrent producers share the log's fsyncs.
  std::vector<std::thread> producer_threads;
  for (int64_t k = 0; k < producers; ++k) {
    producer_threads.emplace_back([&, k] {
      for (int64_t first = k * batch; first < total; first += producers * batch) {
        std::this_thread::sleep_until(start + std::chrono::microseconds(first * 1000000 / rate));
        std::string body;
        int64_t n = std::min(batch, total - first);
        for (int64_t i = first; i < first + n; ++i) {
          body += R"({"specversion":"1.0","id":")" + std::to_string(i) +
                  R"(","source":"bench","type":"play","data":{"play_id":"p)" + std::to_string(i) +
                  R"(","user_id":"u)" + std::to_string(i % 10007) + R"(","track_id":"t)" +
                  std::to_string(i % 5003) + R"(","played_at":"2026-01-01T10:00:00Z"}})" + "\n";
        }
        auto r = p.PublishEvents(admin, src, "application/x-ndjson", body, {});
        if (!r.ok()) Die("publish", r.status());
        auto acked = SteadyClock::now();
        for (const json& rec : (*r)["records"]) {
          acks.Put(rec["partition"].get<int>(), rec["offset"].get<int64_t>(), acked);
        }
      }
    });
  }
  for (std::thread& t : producer_threads) t.join();
  double produce_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  // Let the pipeline drain (at most 60 s more), then stop the readers.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    auto deadline = SteadyClock::now() + std::chrono::seconds(60);
    while (!done.load() && SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop = true;
  });
  direct_reader.join();
  piped_reader.join();
  done = true;
  watchdog.join();
  std::vector<double> direct = Latencies(direct_seen, acks);
  std::vector<double> piped = Latencies(piped_seen, acks);

  std::printf("bench_pipeline: %lld events at a target of %lld/s, reached %.0f/s (%.1f s)\n",
              static_cast<long long>(total), static_cast<long long>(rate),
              static_cast<double>(total) / produce_s, produce_s);
  std::printf(
      "  direct reader of the source (baseline): %zu events, p50 %.1f ms, p99 %.1f ms, "
      "max %.1f ms\n",
      direct.size(), Pct(direct, 0.5), Pct(direct, 0.99), Pct(direct, 1.0));
  std::printf(
      "  through the streaming pipeline:         %zu events, p50 %.1f ms, p99 %.1f ms, "
      "max %.1f ms\n",
      piped.size(), Pct(piped, 0.5), Pct(piped, 0.99), Pct(piped, 1.0));
  double ratio = Pct(direct, 0.99) > 0 ? Pct(piped, 0.99) / Pct(direct, 0.99) : 0;
  std::printf(
      "  p99 pipeline / direct: %.1fx; p99 / 1000 ms target: %.2f (%s)\n", ratio,
      Pct(piped, 0.99) / 1000.0,
      Pct(piped, 0.99) < 1000 && static_cast<int64_t>(piped.size()) == total ? "met" : "NOT met");
  std::exit(0);  // the platform's threads stop with the process
}
