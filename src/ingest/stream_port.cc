// StreamPort: decode, dedup, route and append; quarantine; the options mapping.

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "ingest/checkpoints.h"
#include "ingest/dedup_index.h"
#include "ingest/event_codec.h"
#include "ingest/ingest.h"

namespace loom::ingest {

std::string_view ToString(Outcome o) {
  switch (o) {
    case Outcome::kAccepted:
      return "accepted";
    case Outcome::kDuplicate:
      return "duplicate";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kQuarantined:
      return "quarantined";
  }
  return "unknown";
}

int32_t PartitionForKey(std::string_view key, int32_t partitions) {
  return static_cast<int32_t>(Fnv1a64(key) % static_cast<uint64_t>(partitions));
}

log::LogOptions LogOptionsFor(const spec::StreamSettings& st, FileSystem* fs, Clock* clock) {
  log::LogOptions o;
  o.fs = fs;
  o.clock = clock;
  o.partitions = static_cast<int32_t>(st.partitions);
  o.fsync = st.fsync == spec::FsyncPolicy::kAlways     ? log::FsyncPolicy::kAlways
            : st.fsync == spec::FsyncPolicy::kInterval ? log::FsyncPolicy::kInterval
                                                       : log::FsyncPolicy::kNever;
  o.fsync_interval = std::chrono::milliseconds(st.fsync_interval_ms);
  o.compression = st.compression == spec::Compression::kZstd ? log::Compression::kZstd
                                                             : log::Compression::kNone;
  o.segment_max_bytes = static_cast<uint64_t>(st.segment_bytes);
  o.segment_max_age = std::chrono::microseconds(st.segment_ms * 1000);
  if (st.retention_ms) {
    o.retention.kind = log::Retention::Kind::kTime;
    o.retention.max_age = std::chrono::microseconds(*st.retention_ms * 1000);
  } else if (st.retention_bytes) {
    o.retention.kind = log::Retention::Kind::kSize;
    o.retention.max_bytes = static_cast<uint64_t>(*st.retention_bytes);
  }
  return o;
}

namespace {

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// Per-thread working memory of Ingest's routing (reused across calls).
struct RouteScratch {
  std::vector<DedupKey> keys;   // of the valid events, in request order
  std::vector<uint32_t> valid;  // their indexes in the request
  std::vector<DedupIndex::ClaimResult> claims;
  std::vector<DedupIndex::Stored> stored;
};
RouteScratch& ThreadRouteScratch() {
  thread_local RouteScratch scratch;
  return scratch;
}

// Counts down the async appends of one request.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  int left = 0;
  void Done() {
    std::lock_guard<std::mutex> lock(mu);
    if (--left == 0) cv.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return left == 0; });
  }
};

class StreamPortImpl final : public StreamPort {
 public:
  StreamPortImpl(PortOptions options, PortRules rules, std::unique_ptr<CompiledSchema> schema,
                 spec::OnInvalid on_invalid, int64_t window_micros)
      : options_(options),
        rules_(std::move(rules)),
        schema_(std::move(schema)),
        on_invalid_(on_invalid),
        dedup_(window_micros, options.dedup_max_entries) {
    rules_.schema = schema_.get();
  }

  Status OpenLogs(const std::string& dir, const spec::StreamSettings& st) {
    LOOM_RETURN_IF_ERROR(options_.fs->CreateDirs(dir));
    log::LogOptions lo = LogOptionsFor(st, options_.fs, options_.clock);
    lo.cipher = options_.cipher;
    lo.encryption_context = options_.encryption_context;
    LOOM_ASSIGN_OR_RETURN(stream_, log::Log::Open(JoinPath(dir, "events"), lo));
    log::LogOptions qo = lo;
    qo.partitions = 1;
    qo.compression = log::Compression::kNone;
    qo.encryption_context = options_.encryption_context + "#quarantine";
    LOOM_ASSIGN_OR_RETURN(quarantine_, log::Log::Open(JoinPath(dir, "quarantine"), qo));
    partitions_ = stream_->partitions();
    int64_t t0 = options_.clock->NowMicros();
    LOOM_ASSIGN_OR_RETURN(checkpoints_, Checkpoints::Open(*options_.fs, JoinPath(dir, "dedup.ckpt"),
                                                          *stream_, t0, dedup_window()));
    if (dedup_on()) {
      LOOM_ASSIGN_OR_RETURN(rebuilt_, checkpoints_->Rebuild(*stream_, t0, &dedup_));
    }
    rebuild_micros_ = options_.clock->NowMicros() - t0;
    // Everything stored so far arrived before now: the next rebuild need not look further back.
    checkpoints_->MaybeWrite(*stream_, t0, /*force=*/true);
    return Status::Ok();
  }

  using StreamPort::Ingest;

  int64_t dedup_window() const { return window_micros_; }
  // dedupWindow: 0ms turns de-duplication off: no claims, no index, no rebuild.
  bool dedup_on() const { return window_micros_ > 0; }
  void set_window(int64_t w) { window_micros_ = w; }

  Result<IngestResult> Ingest(const Request& request, const WhileStoring& while_storing) override {
    if (closed_.load()) return FailedPrecondition("stream port is closed");
    Scratch& s = ThreadScratch();
    LOOM_RETURN_IF_ERROR(Decode(request, rules_, &s));
    const int64_t now = options_.clock->NowMicros();
    IngestResult result;
    result.records.resize(s.events.size());
    // Route: claim the valid events in the dedup index (each shard locked once), group new ones
    // by partition.
    std::vector<std::vector<uint32_t>> by_partition(static_cast<size_t>(partitions_));
    std::vector<uint32_t> invalid, waiting;
    int32_t sticky =
        static_cast<int32_t>(round_robin_.fetch_add(1) % static_cast<uint64_t>(partitions_));
    RouteScratch& rs = ThreadRouteScratch();
    rs.keys.clear();
    rs.valid.clear();
    for (uint32_t i = 0; i < s.events.size(); ++i) {
      const DecodedEvent& ev = s.events[i];
      if (!ev.valid) {
        invalid.push_back(i);
        continue;
      }
      rs.valid.push_back(i);
      rs.keys.push_back(DedupKey{ev.h1, ev.h2});
    }
    if (dedup_on()) {
      dedup_.TryClaimBatch(rs.keys, now, &rs.claims);
    } else {
      rs.claims.assign(rs.keys.size(), DedupIndex::ClaimResult{});
    }
    for (size_t k = 0; k < rs.valid.size(); ++k) {
      uint32_t i = rs.valid[k];
      const DecodedEvent& ev = s.events[i];
      RecordResult& r = result.records[i];
      const DedupIndex::ClaimResult& claim = rs.claims[k];
      switch (claim.claim) {
        case DedupIndex::Claim::kDuplicate:
          r.outcome = Outcome::kDuplicate;
          r.partition = claim.partition;
          r.offset = claim.offset;
          break;
        case DedupIndex::Claim::kPending:
          waiting.push_back(i);
          break;
        case DedupIndex::Claim::kNew: {
          int32_t part =
              schema_->key_fields() > 0
                  ? PartitionForKey(std::string_view(s.arena.data() + ev.key_begin, ev.key_len),
                                    partitions_)
                  : sticky;
          by_partition[static_cast<size_t>(part)].push_back(i);
          r.partition = part;
          break;
        }
      }
    }
    // Append every partition's records as one batch, and the quarantined ones, concurrently.
    Pending pending;
    std::vector<Result<log::AppendResult>> outcomes(by_partition.size() + 1,
                                                    Result<log::AppendResult>(Internal("not run")));
    std::vector<log::Record> records;
    std::string quarantined;
    std::vector<size_t> q_ends;
    const bool quarantine = on_invalid_ == spec::OnInvalid::kQuarantine && !invalid.empty();
    pending.left = quarantine ? 1 : 0;
    for (const auto& idx : by_partition) pending.left += idx.empty() ? 0 : 1;
    for (size_t p = 0; p < by_partition.size(); ++p) {
      if (by_partition[p].empty()) continue;
      records.clear();
      for (uint32_t i : by_partition[p]) {
        const DecodedEvent& ev = s.events[i];
        records.push_back(
            log::Record{ev.has_time ? ev.timestamp : now,
                        std::string_view(s.arena.data() + ev.key_begin, ev.key_len),
                        std::string_view(s.arena.data() + ev.value_begin, ev.value_len)});
      }
      stream_->AppendAsync(static_cast<int32_t>(p), records,
                           [&pending, &outcomes, p](Result<log::AppendResult> r) {
                             outcomes[p] = std::move(r);
                             pending.Done();
                           });
    }
    if (quarantine) {
      records.clear();
      std::string received = FormatRfc3339(now);
      for (uint32_t i : invalid) {
        quarantined += "{\"reason\":";
        AppendJsonString(s.events[i].reason, &quarantined);
        quarantined +=
            ",\"index\":" + std::to_string(i) + ",\"received\":\"" + received + "\",\"event\":";
        std::string_view raw = s.events[i].raw;
        if (raw.size() > 65536) raw = raw.substr(0, 65536);  // oversized events: the head only
        AppendJsonString(raw, &quarantined);
        quarantined += "}";
        q_ends.push_back(quarantined.size());
      }
      size_t begin = 0;
      for (size_t end : q_ends) {
        records.push_back(
            log::Record{now, {}, std::string_view(quarantined).substr(begin, end - begin)});
        begin = end;
      }
      quarantine_->AppendAsync(0, records, [&pending, &outcomes](Result<log::AppendResult> r) {
        outcomes.back() = std::move(r);
        pending.Done();
      });
    }
    Status hook;
    if (while_storing) {
      size_t storing = 0;
      for (const auto& idx : by_partition) storing += idx.size();
      hook = while_storing(storing);
    }
    pending.Wait();
    // Settle the dedup claims: stored positions, or released on failure.
    Status failure;
    rs.stored.clear();
    for (size_t p = 0; p < by_partition.size(); ++p) {
      if (by_partition[p].empty()) continue;
      const auto& out = outcomes[p];
      for (size_t k = 0; k < by_partition[p].size(); ++k) {
        uint32_t i = by_partition[p][k];
        DedupKey key{s.events[i].h1, s.events[i].h2};
        if (!out.ok()) {
          if (dedup_on()) dedup_.Abandon(key);
          continue;
        }
        int64_t off = out->first.value + static_cast<int64_t>(k);
        if (dedup_on()) rs.stored.push_back(DedupIndex::Stored{key, static_cast<int32_t>(p), off});
        result.records[i].offset = off;
        ++result.accepted;
      }
      if (!out.ok() && failure.ok()) failure = out.status();
    }
    if (!rs.stored.empty()) dedup_.CompleteBatch(rs.stored);
    if (quarantine && !outcomes.back().ok() && failure.ok()) failure = outcomes.back().status();
    if (!failure.ok()) return failure;
    for (size_t k = 0; k < invalid.size(); ++k) {
      RecordResult& r = result.records[invalid[k]];
      r.reason = std::move(s.events[invalid[k]].reason);
      if (quarantine) {
        r.outcome = Outcome::kQuarantined;
        r.partition = 0;
        r.offset = outcomes.back()->first.value + static_cast<int64_t>(k);
        ++result.quarantined;
      } else {
        r.outcome = Outcome::kRejected;
        ++result.rejected;
      }
    }
    // Submissions of the same event by another request in flight: answer with its position, or
    // store it ourselves if that request failed.
    for (uint32_t i : waiting)
      LOOM_RETURN_IF_ERROR(SettleWaiting(s.events[i], now, &result.records[i]));
    for (const RecordResult& r : result.records)
      result.duplicates += r.outcome == Outcome::kDuplicate;
    checkpoints_->MaybeWrite(*stream_, options_.clock->NowMicros());
    if (!hook.ok()) return hook;
    return result;
  }

  log::Log& stream() override { return *stream_; }
  log::Log& quarantine() override { return *quarantine_; }

  PortStats stats() const override {
    PortStats st;
    st.dedup_entries = dedup_.entries();
    st.dedup_early_evictions = dedup_.early_evictions();
    st.rebuilt_entries = rebuilt_;
    st.rebuild_micros = rebuild_micros_;
    return st;
  }

  Status Close() override {
    if (closed_.exchange(true)) return Status::Ok();
    // A port whose OpenLogs failed part way has only some of these.
    if (checkpoints_ != nullptr && stream_ != nullptr) {
      checkpoints_->MaybeWrite(*stream_, options_.clock->NowMicros(), /*force=*/true);
    }
    Status a = stream_ != nullptr ? stream_->Close() : Status::Ok();
    Status b = quarantine_ != nullptr ? quarantine_->Close() : Status::Ok();
    return a.ok() ? b : a;
  }

  ~StreamPortImpl() override { (void)Close(); }

 private:
  Status SettleWaiting(const DecodedEvent& ev, int64_t now, RecordResult* r) {
    DedupKey key{ev.h1, ev.h2};
    for (;;) {
      int32_t p = -1;
      int64_t off = -1;
      if (dedup_.WaitStored(key, &p, &off)) {
        r->outcome = Outcome::kDuplicate;
        r->partition = p;
        r->offset = off;
        return Status::Ok();
      }
      switch (dedup_.TryClaim(key, now, &p, &off)) {
        case DedupIndex::Claim::kDuplicate:
          r->outcome = Outcome::kDuplicate;
          r->partition = p;
          r->offset = off;
          return Status::Ok();
        case DedupIndex::Claim::kPending:
          continue;
        case DedupIndex::Claim::kNew: {
          const Scratch& s = ThreadScratch();
          std::string_view key_bytes(s.arena.data() + ev.key_begin, ev.key_len);
          int32_t part = schema_->key_fields() > 0 ? PartitionForKey(key_bytes, partitions_) : 0;
          log::Record rec{ev.has_time ? ev.timestamp : now, key_bytes,
                          std::string_view(s.arena.data() + ev.value_begin, ev.value_len)};
          auto out = stream_->Append(part, std::span<const log::Record>(&rec, 1));
          if (!out.ok()) {
            dedup_.Abandon(key);
            return out.status();
          }
          dedup_.Complete(key, part, out->first.value);
          r->outcome = Outcome::kAccepted;
          r->partition = part;
          r->offset = out->first.value;
          return Status::Ok();
        }
      }
    }
  }

  PortOptions options_;
  PortRules rules_;
  std::unique_ptr<CompiledSchema> schema_;
  spec::OnInvalid on_invalid_;
  int64_t window_micros_ = 0;
  DedupIndex dedup_;
  std::unique_ptr<log::Log> stream_;
  std::unique_ptr<log::Log> quarantine_;
  std::unique_ptr<Checkpoints> checkpoints_;
  int32_t partitions_ = 1;
  std::atomic<uint64_t> round_robin_{0};
  std::atomic<bool> closed_{false};
  uint64_t rebuilt_ = 0;
  int64_t rebuild_micros_ = 0;
};

}  // namespace

Result<std::unique_ptr<StreamPort>> StreamPort::Open(const std::string& dir,
                                                     const spec::DataProduct& product,
                                                     std::string_view port_name,
                                                     const PortOptions& options) {
  const spec::OutputPort* port = product.FindPort(port_name);
  std::string where = product.domain + "/" + product.name + "/" + std::string(port_name);
  if (port == nullptr) return NotFound("no output port '" + where + "'");
  if (port->kind != spec::PortKind::kStream)
    return InvalidArgument("port '" + where + "' is not a stream port");
  const spec::StreamSettings& st = port->stream;
  if (st.partitions < 1 || st.partitions > 4096)
    return InvalidArgument("port '" + where + "': partitions must be 1..4096");
  if (st.max_event_bytes < 1)
    return InvalidArgument("port '" + where + "': max_event_bytes must be positive");
  if (st.dedup_window_ms < 0)
    return InvalidArgument("port '" + where + "': dedup_window must not be negative");
  auto schema = CompiledSchema::Compile(product.schema, st, options.limits.max_depth);
  if (!schema.ok()) return schema.status().WithPrefix("port '" + where + "'");
  PortRules rules;
  rules.event_type = st.event_type;
  rules.max_event_bytes = st.max_event_bytes;
  rules.limits = options.limits;
  int64_t window = st.dedup_window_ms * 1000;
  auto impl = std::make_unique<StreamPortImpl>(options, std::move(rules), std::move(*schema),
                                               st.on_invalid, window);
  impl->set_window(window);
  LOOM_RETURN_IF_ERROR(impl->OpenLogs(dir, st));
  return std::unique_ptr<StreamPort>(std::move(impl));
}

}  // namespace loom::ingest
