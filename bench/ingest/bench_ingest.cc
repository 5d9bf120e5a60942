// bench_ingest: validated CloudEvents ingest with fsync before ack, in-process, side by side with
// the peers on the same workload in the same run (Redis Streams with appendfsync always, NATS
// JetStream file storage, PostgreSQL COPY into jsonb). Prints medians over rounds and ratios.
//
//   bench_ingest [--events N] [--batch N] [--rounds N] [--threads N] [--inproc-threads N]
//                [--dir DIR] [--peers redis,nats,postgres,http|none] [--loom PATH-TO-LOOM]
//                [--mesh DIR]
//
// --threads: connections of the peers and of Loom over HTTP. --inproc-threads: the threads of
// the application that embeds Loom (in-process rows), each calling StreamPort::Ingest with one
// batch at a time; a call waits for the fdatasync of its records, so with fsync always the
// cores idle unless more calls than cores are in flight (default 8: 4 per core here).
//
// `http` adds Loom over HTTP (`loom serve`, POST .../ports/events/events); it is skipped with
// the reason when the binary or the endpoint is missing. The server serves the descriptors of
// --mesh (default: the whole reference mesh, examples/media-streaming, whose pipelines read
// play-events while it is ingested).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bench_util.h"
#include "ingest/ingest.h"
#include "peers.h"
#include "spec/spec.h"

using namespace loom;
using namespace loom::bench;

namespace {

struct Args {
  size_t events = 1000000;
  size_t batch = 1000;
  int rounds = 3;
  int threads = 4;
  int inproc_threads = 8;
  std::string dir = "/tmp";
  std::string peers = "redis,nats,postgres,http";
  std::string loom = LOOM_BINARY_PATH;  // for the HTTP mode
  std::string mesh = std::string(LOOM_SOURCE_DIR) + "/examples/media-streaming";
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--events")
      a.events = std::stoul(v);
    else if (k == "--batch")
      a.batch = std::stoul(v);
    else if (k == "--rounds")
      a.rounds = std::stoi(v);
    else if (k == "--threads")
      a.threads = std::stoi(v);
    else if (k == "--inproc-threads")
      a.inproc_threads = std::stoi(v);
    else if (k == "--dir")
      a.dir = v;
    else if (k == "--peers")
      a.peers = v;
    else if (k == "--loom")
      a.loom = v;
    else if (k == "--mesh")
      a.mesh = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

Result<spec::DataProduct> PlayEvents(spec::FsyncPolicy fsync) {
  auto docs = spec::LoadPath(std::string(LOOM_SOURCE_DIR) +
                             "/examples/media-streaming/products/play-events.yaml");
  if (!docs.ok()) return docs.status();
  for (const auto& d : *docs) {
    if (d.product() == nullptr || d.product()->name != "play-events") continue;
    spec::DataProduct p = *d.product();
    for (auto& port : p.output_ports) port.stream.fsync = fsync;
    return p;
  }
  return NotFound("no play-events product");
}

std::vector<double> g_rebuild_ms;  // per round: the dedup rebuild at reopen
uint64_t g_rebuild_entries = 0;

std::optional<Round> LoomRound(const Workload& w, const Args& a, spec::FsyncPolicy fsync,
                               std::string* why) {
  auto product = PlayEvents(fsync);
  if (!product.ok()) return *why = product.status().ToString(), std::nullopt;
  std::string dir = MakeTempDir(a.dir, "loom-ingest-");
  auto port = ingest::StreamPort::Open(dir, *product, "events");
  if (!port.ok()) return *why = port.status().ToString(), std::nullopt;
  std::mutex mu;
  auto round = Drive(
      w, a.inproc_threads,
      [&](int, size_t b) {
        auto r =
            (*port)->Ingest(ingest::Request{ingest::Format::kJsonLines, w.jsonl_batches[b], {}});
        size_t want = w.batch_ranges[b].second - w.batch_ranges[b].first;
        if (!r.ok() || r->accepted != want) {
          std::lock_guard<std::mutex> lock(mu);
          *why = r.ok()
                     ? "accepted " + std::to_string(r->accepted) + " of " + std::to_string(want) +
                           (r->records.empty() ? "" : ": " + r->records[0].reason)
                     : r.status().ToString();
          return false;
        }
        return true;
      },
      [] { return 0.0; });
  Status closed = (*port)->Close();
  if (!closed.ok()) *why = closed.ToString();
  port->reset();
  if (closed.ok() && round && fsync == spec::FsyncPolicy::kAlways) {
    // The cost of a restart: rebuilding the dedup index from the log tail in the window.
    auto reopened = ingest::StreamPort::Open(dir, *product, "events");
    if (reopened.ok()) {
      ingest::PortStats st = (*reopened)->stats();
      std::fprintf(stderr,
                   "  loom restart: dedup index rebuilt from the log, %llu entries in %.0f ms\n",
                   static_cast<unsigned long long>(st.rebuilt_entries), st.rebuild_micros / 1000.0);
      g_rebuild_ms.push_back(st.rebuild_micros / 1000.0);
      g_rebuild_entries = st.rebuilt_entries;
    }
  }
  RemoveTree(dir);
  return closed.ok() ? round : std::nullopt;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty()      ? 0
         : v.size() % 2 ? v[v.size() / 2]
                        : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Row {
  std::string name;
  std::string ack;
  std::vector<Round> rounds;
  std::string skipped;
  double Med(double Round::*m) const {
    std::vector<double> v;
    for (const Round& r : rounds) v.push_back(r.*m);
    return Median(v);
  }
};

}  // namespace

int main(int argc, char** argv) {
  Args a = Parse(argc, argv);
  std::printf(
      "bench_ingest: %zu play events, batches of %zu, %d producer connections (%d threads "
      "in-process), %d rounds (medians)\n",
      a.events, a.batch, a.threads, a.inproc_threads, a.rounds);
  Workload w = MakeWorkload(a.events, a.batch);
  std::printf("workload: %.1f MB, %.0f bytes/event (CloudEvents JSON)\n\n", w.total_bytes / 1e6,
              static_cast<double>(w.total_bytes) / static_cast<double>(a.events));
  PeerConfig pc{&w, a.threads, a.dir};
  std::vector<Row> rows;
  auto run = [&](const std::string& name, const std::string& ack, auto fn) {
    Row row{name, ack, {}, {}};
    for (int i = 0; i < a.rounds; ++i) {
      std::string why;
      auto r = fn(&why);
      if (!r) {
        row.skipped = why.empty() ? "failed" : why;
        row.rounds.clear();
        break;
      }
      std::fprintf(stderr, "  %s round %d: %.0f events/s\n", name.c_str(), i + 1,
                   r->events_per_sec);
      row.rounds.push_back(*r);
    }
    rows.push_back(row);
  };
  // Rounds of the systems interleave within one run, on the same disk and cores.
  run("loom (validated, fsync always)", "fsync before ack (group commit)",
      [&](std::string* why) { return LoomRound(w, a, spec::FsyncPolicy::kAlways, why); });
  run("loom (validated, fsync never)", "written, not synced: the CPU bound",
      [&](std::string* why) { return LoomRound(w, a, spec::FsyncPolicy::kNever, why); });
  auto want = [&](const char* p) { return a.peers.find(p) != std::string::npos; };
  if (want("http"))
    run("loom over HTTP (validated, fsync)", "fsync before the HTTP response",
        [&](std::string* why) { return LoomHttpRound(pc, a.loom, a.mesh, why); });
  if (want("redis"))
    run("redis 7 XADD (appendfsync always)", "fsync per event-loop batch",
        [&](std::string* why) { return RedisRound(pc, why); });
  if (want("nats"))
    run("nats 2.9 JetStream (file)", "written, not fsynced",
        [&](std::string* why) { return NatsRound(pc, why); });
  if (want("postgres"))
    run("postgresql 15 COPY jsonb", "WAL fsync at each COPY's commit",
        [&](std::string* why) { return PostgresRound(pc, why); });

  const Row& loom = rows[0];
  double loom_eps = loom.Med(&Round::events_per_sec);
  std::printf("%-36s %12s %8s %9s %9s %9s %8s  %s\n", "system", "events/s", "MB/s", "p50 ack",
              "p99 ack", "CPU us/ev", "loom x", "ack means");
  for (const Row& r : rows) {
    if (!r.skipped.empty()) {
      std::printf("%-36s skipped: %s\n", r.name.c_str(), r.skipped.c_str());
      continue;
    }
    double eps = r.Med(&Round::events_per_sec);
    std::printf("%-36s %12.0f %8.1f %7.2fms %7.2fms %9.2f %7.2fx  %s\n", r.name.c_str(), eps,
                r.Med(&Round::mb_per_sec), r.Med(&Round::p50_ms), r.Med(&Round::p99_ms),
                r.Med(&Round::cpu_us_per_event), eps > 0 ? loom_eps / eps : 0.0, r.ack.c_str());
  }
  // The acceptance targets of issue 3: in-process events/s, and HTTP over the fastest peer.
  const Row* http = nullptr;
  const Row* fastest = nullptr;
  for (const Row& r : rows) {
    if (!r.skipped.empty()) continue;
    if (r.name.rfind("loom over HTTP", 0) == 0) http = &r;
    if (r.name.rfind("loom", 0) != 0 &&
        (fastest == nullptr ||
         r.Med(&Round::events_per_sec) > fastest->Med(&Round::events_per_sec)))
      fastest = &r;
  }
  std::printf("\ntargets: loom in-process %.0f events/s (target 1,000,000)", loom_eps);
  if (http != nullptr && fastest != nullptr) {
    std::printf("; loom over HTTP / fastest peer (%s) = %.2fx (target 2x)", fastest->name.c_str(),
                http->Med(&Round::events_per_sec) / fastest->Med(&Round::events_per_sec));
  }
  std::printf("\n");
  std::printf(
      "\nack latency = one batch of %zu events from send to acknowledgement; CPU = client + "
      "server (all processes), per event; 'loom x' = Loom fsync-always events/s over the "
      "row's.\n",
      a.batch);
  return loom.skipped.empty() ? 0 : 1;
}
