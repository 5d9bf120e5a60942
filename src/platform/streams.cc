// Stream ports: publishing events, reading them (by offset, time or consumer group), committing
// group offsets, and their SQL tier.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

#include "core/metrics.h"
#include "platform/open_stream.h"

namespace loom::platform {

namespace {

using nlohmann::json;

json RecordJson(int32_t partition, const log::RecordView& r) {
  json event = json::parse(r.value, nullptr, /*allow_exceptions=*/false);
  if (event.is_discarded()) event = std::string(r.value);
  return {{"partition", partition}, {"offset", r.offset.value}, {"event", std::move(event)}};
}

// Ingest outcomes per product and port (loom_ingest_events_total).
void CountIngest(const Address& a, const ingest::IngestResult& r) {
  metrics::Registry& m = metrics::Registry::Default();
  const std::string product = a.domain + "/" + a.product;
  const std::pair<const char*, uint64_t> outcomes[] = {{"accepted", r.accepted},
                                                       {"duplicate", r.duplicates},
                                                       {"rejected", r.rejected},
                                                       {"quarantined", r.quarantined}};
  for (const auto& [outcome, n] : outcomes) {
    m.GetCounter("loom_ingest_events_total", "Events received by stream ports, by outcome.",
                 {{"product", product}, {"port", a.port}, {"outcome", outcome}})
        .Inc(static_cast<double>(n));
  }
}

}  // namespace

std::string Platform::StreamDir(const Address& port) const {
  return JoinPath(
      JoinPath(JoinPath(JoinPath(options_.data_dir, "streams"), port.domain), port.product),
      port.port);
}

Result<std::shared_ptr<Platform::OpenStream>> Platform::GetStream(const PortRef& ref) {
  Address a{ref.product.domain, ref.product.name, ref.port->name, {}};
  if (ref.port->kind != spec::PortKind::kStream) {
    return InvalidArgument("port " + a.ToString() + " is a table port, not a stream port");
  }
  std::string version = ref.product.version.ToString();
  std::lock_guard<std::mutex> lock(streams_mu_);
  std::shared_ptr<OpenStream>& slot = streams_[a.ToString()];
  if (slot != nullptr && slot->descriptor_version == version) return slot;
  // A new descriptor version: close the old port first (users of it keep their reference, and
  // its calls fail cleanly once closed), so that only one port object writes the log.
  if (slot != nullptr) {
    (void)slot->port->Close();
    slot.reset();
  }
  std::string dir = StreamDir(a);
  LOOM_RETURN_IF_ERROR(FileSystem::Default()->CreateDirs(dir));
  auto open = std::make_shared<OpenStream>();
  LOOM_ASSIGN_OR_RETURN(open->lock, PortLock::Acquire(dir, a.ToString()));
  ingest::PortOptions options;
  options.clock = options_.clock;
  LOOM_ASSIGN_OR_RETURN(open->cipher, PortCipher(ref.product));
  options.cipher = open->cipher.get();
  options.encryption_context = a.ToString();
  LOOM_ASSIGN_OR_RETURN(open->port,
                        ingest::StreamPort::Open(dir, ref.product, ref.port->name, options));
  open->descriptor_version = version;
  open->schema = ref.product.schema;
  slot = open;
  return open;
}

Result<engine::Relation> Platform::StreamRelation(const PortRef& ref) {
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<OpenStream> s, GetStream(ref));
  Address a{ref.product.domain, ref.product.name, ref.port->name, {}};
  std::lock_guard<std::mutex> lock(s->tier_mu);
  if (s->tier == nullptr) {
    engine::StreamTierOptions options;
    options.database = trusted_db_.get();
    options.cipher = s->cipher.get();
    options.encryption_context = a.ToString();
    options.clock = options_.clock;
    options.temp_dir = JoinPath(options_.data_dir, "scratch");
    LOOM_RETURN_IF_ERROR(FileSystem::Default()->CreateDirs(options.temp_dir));
    LOOM_ASSIGN_OR_RETURN(s->tier,
                          engine::StreamTier::Open(JoinPath(StreamDir(a), "tier"), options));
  }
  LOOM_ASSIGN_OR_RETURN(engine::StreamSyncStats stats, s->tier->Sync(s->port->stream(), s->schema));
  (void)stats;
  return s->tier->ToRelation(a.SqlName(), s->schema);
}

Result<ingest::IngestResult> Platform::IngestEvents(
    const Caller& caller, const Address& address, std::string_view content_type,
    std::string_view body, const std::vector<std::pair<std::string, std::string>>& headers) {
  LOOM_RETURN_IF_ERROR(Require(caller, address, security::Operation::kWrite, "ingest").status());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, ResolvePort(address));
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<OpenStream> s, GetStream(*ref));
  std::vector<ingest::Header> hs;
  bool has_ce = false;
  for (const auto& [name, value] : headers) {
    hs.push_back({name, value});
    if (name.size() > 3 && (name[0] == 'c' || name[0] == 'C') &&
        (name[1] == 'e' || name[1] == 'E') && name[2] == '-') {
      has_ce = true;
    }
  }
  LOOM_ASSIGN_OR_RETURN(ingest::Format format, ingest::FormatForContentType(content_type, has_ce));
  ingest::Request request;
  request.format = format;
  request.body = body;
  request.headers = hs;
  // The audit entry is made durable while the log syncs the records (not after): the call
  // returns, and the write is acknowledged, only once both are durable.
  bool audited = false;
  Result<ingest::IngestResult> ingested = s->port->Ingest(request, [&](size_t storing) {
    Status st = Audited(caller, "ingest", address, static_cast<int64_t>(storing));
    audited = st.ok();
    return st;
  });
  if (!ingested.ok()) {
    if (audited) {
      // The entry above counted records the log then failed to store: say so.
      (void)AuditRecord({caller.principal(), "ingest", address.ToString(), true, 0, "",
                         "not acknowledged: " + ingested.status().ToString()});
    }
    return ingested.status();
  }
  ingest::IngestResult& result = *ingested;
  CountIngest(address, result);
  if (result.accepted > 0) WakePipelines(address);
  Status counted = quality_->AddIngest(address.ToString(), options_.clock->NowMicros(),
                                       result.accepted, result.rejected + result.quarantined);
  if (!counted.ok()) {
    quality::LogJson("error", "ingest counts not recorded",
                     {{"address", address.ToString()}, {"error", counted.ToString()}});
  }
  return std::move(result);
}

Result<json> Platform::PublishEvents(
    const Caller& caller, const Address& address, std::string_view content_type,
    std::string_view body, const std::vector<std::pair<std::string, std::string>>& headers) {
  LOOM_ASSIGN_OR_RETURN(ingest::IngestResult result,
                        IngestEvents(caller, address, content_type, body, headers));
  // One definition of the answer's shape: the text the server sends (publish_answer.cc).
  json answer = json::parse(IngestAnswerText(address, result), nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) return Internal("the answer of a publish is not valid JSON");
  return answer;
}

Result<Platform::EventRead> Platform::StartRead(const Caller& caller, const Address& address,
                                                const ReadRequest& req) {
  if (req.max_events == 0 || req.max_events > 100000) {
    return InvalidArgument("max events must be between 1 and 100000");
  }
  if (req.wait_ms < 0 || req.wait_ms > 60000) {
    return InvalidArgument("wait must be between 0 and 60000 ms");
  }
  EventRead read;
  // The quarantine holds raw, unmasked records: its domain's owners only.
  read.operation = req.quarantine ? "tail-quarantine" : "tail";
  LOOM_ASSIGN_OR_RETURN(read.decision,
                        Require(caller, address, security::Operation::kRead, read.operation));
  if (req.quarantine) {
    LOOM_ASSIGN_OR_RETURN(read.decision,
                          Require(caller, Address{address.domain, address.product, "", {}},
                                  security::Operation::kManageGrants, read.operation));
  }
  LOOM_ASSIGN_OR_RETURN(read.ref, ResolvePort(address));
  LOOM_ASSIGN_OR_RETURN(read.stream, GetStream(*read.ref));
  const log::Log& lg =
      req.quarantine ? read.stream->port->quarantine() : read.stream->port->stream();
  read.log = &lg;
  const int32_t n = lg.partitions();
  if (req.partition) {
    if (*req.partition < 0 || *req.partition >= n) {
      return InvalidArgument("partition " + std::to_string(*req.partition) + ": the port has " +
                             std::to_string(n) + " partition(s)");
    }
    read.parts.push_back(*req.partition);
  } else {
    for (int32_t p = 0; p < n; ++p) read.parts.push_back(p);
  }
  read.port = Address{address.domain, address.product, address.port, {}};
  std::map<uint32_t, int64_t> committed;
  if (req.group) {
    if (req.group->empty() || req.group->size() > 200) {
      return InvalidArgument("group name must have 1 to 200 characters");
    }
    LOOM_ASSIGN_OR_RETURN(committed, catalog_->GetOffsets(*req.group, read.port));
  }
  std::optional<TimestampMicros> from_time;
  if (req.from != "earliest" && req.from != "latest") {
    Result<TimestampMicros> t = ParseRfc3339(req.from);
    if (!t.ok()) {
      return InvalidArgument("from '" + req.from +
                             "': expected earliest, latest or an RFC 3339 time");
    }
    from_time = *t;
  }
  // Start offsets, clamped into what the log still holds.
  read.from.resize(static_cast<size_t>(n));
  for (int32_t p : read.parts) {
    LOOM_ASSIGN_OR_RETURN(log::Offset start, lg.StartOffset(p));
    LOOM_ASSIGN_OR_RETURN(log::Offset end, lg.EndOffset(p));
    log::Offset o = start;
    if (auto it = req.offsets.find(p); it != req.offsets.end()) {
      o = log::Offset(it->second);
    } else if (auto c = committed.find(static_cast<uint32_t>(p)); c != committed.end()) {
      o = log::Offset(c->second);
    } else if (req.from == "latest") {
      o = end;
    } else if (from_time) {
      LOOM_ASSIGN_OR_RETURN(o, lg.OffsetForTimestamp(p, *from_time));
    }
    read.from[static_cast<size_t>(p)] = std::clamp(o, start, end);
  }
  return read;
}

Result<bool> Platform::ReadPage(
    EventRead& read, const ReadRequest& req,
    const std::function<void(int32_t, const log::RecordView&)>& on_record) {
  const log::Log& lg = *read.log;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(req.wait_ms);
  bool end_of_stream = true;
  while (true) {
    end_of_stream = true;
    size_t seen = 0;
    log::ReadOptions ro;
    ro.max_records = req.max_events;
    if (read.parts.size() == 1) {
      int32_t p = read.parts[0];
      LOOM_ASSIGN_OR_RETURN(log::ReadResult r, lg.Read(p, read.from[static_cast<size_t>(p)], ro,
                                                       [&](const log::RecordView& v) {
                                                         on_record(p, v);
                                                         ++seen;
                                                         return true;
                                                       }));
      read.from[static_cast<size_t>(p)] = r.next;
      end_of_stream = r.end_of_stream;
    } else {
      // Partitions not read are kept at their end so the merge skips them.
      std::vector<log::Offset> merged_from = read.from;
      LOOM_ASSIGN_OR_RETURN(
          log::MergedReadResult r,
          lg.ReadMerged(merged_from, ro, [&](int32_t p, const log::RecordView& v) {
            on_record(p, v);
            ++seen;
            return true;
          }));
      for (int32_t p : read.parts)
        read.from[static_cast<size_t>(p)] = r.next[static_cast<size_t>(p)];
      end_of_stream = r.end_of_stream;
    }
    if (seen > 0 || std::chrono::steady_clock::now() >= deadline) break;
    // Long poll: wait for any partition to grow, a slice at a time.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto slice = std::min<std::chrono::milliseconds>(
        left, std::chrono::milliseconds(
                  std::max<int64_t>(10, 100 / static_cast<int64_t>(read.parts.size()))));
    for (int32_t p : read.parts) {
      Status w = lg.WaitFor(p, read.from[static_cast<size_t>(p)], slice);
      if (w.ok()) break;
      if (w.code() != StatusCode::kDeadlineExceeded) return w;
    }
  }
  return end_of_stream;
}

Result<json> Platform::ReadEventsJson(const Caller& caller, EventRead& read,
                                      const ReadRequest& req) {
  json events = json::array();
  LOOM_ASSIGN_OR_RETURN(bool end_of_stream,
                        ReadPage(read, req, [&](int32_t p, const log::RecordView& v) {
                          events.push_back(RecordJson(p, v));
                        }));
  json next = json::object();
  for (int32_t p : read.parts) next[std::to_string(p)] = read.from[static_cast<size_t>(p)].value;
  if (!req.quarantine) {
    LOOM_RETURN_IF_ERROR(ProtectEvents(read.decision, read.ref->product.schema, events));
  }
  LOOM_RETURN_IF_ERROR(
      Audited(caller, read.operation, read.port, static_cast<int64_t>(events.size())));
  return json{{"address", read.port.ToString()},
              {"events", std::move(events)},
              {"next", std::move(next)},
              {"endOfStream", end_of_stream}};
}

Result<json> Platform::ReadEvents(const Caller& caller, const Address& address,
                                  const ReadRequest& req) {
  LOOM_ASSIGN_OR_RETURN(EventRead read, StartRead(caller, address, req));
  return ReadEventsJson(caller, read, req);
}

Result<std::string> Platform::ReadEventsText(const Caller& caller, const Address& address,
                                             const ReadRequest& req) {
  LOOM_ASSIGN_OR_RETURN(EventRead read, StartRead(caller, address, req));
  // The quarantine's records may be anything a producer sent; masks and row filters need the
  // events' values: both take the JSON path.
  if (req.quarantine || ProtectsEvents(read.decision, read.ref->product.schema)) {
    LOOM_ASSIGN_OR_RETURN(json page, ReadEventsJson(caller, read, req));
    return page.dump();
  }
  std::string out = R"({"address":)" + json(read.port.ToString()).dump() + R"(,"events":[)";
  size_t count = 0;
  char number[24];
  LOOM_ASSIGN_OR_RETURN(
      bool end_of_stream, ReadPage(read, req, [&](int32_t p, const log::RecordView& v) {
        out += count++ == 0 ? R"({"partition":)" : R"(,{"partition":)";
        auto [pe, pc] = std::to_chars(number, number + sizeof number, p);
        (void)pc;
        out.append(number, pe);
        out += R"(,"offset":)";
        auto [oe, oc] = std::to_chars(number, number + sizeof number, v.offset.value);
        (void)oc;
        out.append(number, oe);
        out += R"(,"event":)";
        out += v.value;
        out += '}';
      }));
  out += R"(],"next":{)";
  for (size_t i = 0; i < read.parts.size(); ++i) {
    int32_t p = read.parts[i];
    out += (i > 0 ? ",\"" : "\"") + std::to_string(p) +
           "\":" + std::to_string(read.from[static_cast<size_t>(p)].value);
  }
  out += R"(},"endOfStream":)";
  out += end_of_stream ? "true}" : "false}";
  LOOM_RETURN_IF_ERROR(Audited(caller, read.operation, read.port, static_cast<int64_t>(count)));
  return out;
}

Result<json> Platform::CommitOffsets(const Caller& caller, const Address& address,
                                     const std::string& group,
                                     const std::map<uint32_t, int64_t>& next_offsets) {
  // A consumer group is its reader's bookmark: read, not write, is what it takes.
  LOOM_RETURN_IF_ERROR(
      Require(caller, address, security::Operation::kRead, "commit-offsets").status());
  if (group.empty() || group.size() > 200) {
    return InvalidArgument("group name must have 1 to 200 characters");
  }
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, ResolvePort(address));
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<OpenStream> s, GetStream(*ref));
  const log::Log& lg = s->port->stream();
  for (const auto& [p, o] : next_offsets) {
    if (p >= static_cast<uint32_t>(lg.partitions())) {
      return InvalidArgument("partition " + std::to_string(p) + ": the port has " +
                             std::to_string(lg.partitions()) + " partition(s)");
    }
    LOOM_ASSIGN_OR_RETURN(log::Offset end, lg.EndOffset(static_cast<int32_t>(p)));
    if (o < 0 || o > end.value) {
      return InvalidArgument("offset " + std::to_string(o) + " of partition " + std::to_string(p) +
                             " is past the end (" + std::to_string(end.value) + ")");
    }
  }
  Address port{address.domain, address.product, address.port, {}};
  LOOM_RETURN_IF_ERROR(catalog_->CommitOffsets(group, port, next_offsets));
  NoteGroup(port, group);
  LOOM_RETURN_IF_ERROR(Audited(caller, "commit-offsets", port, -1, "", "group " + group));
  json committed = json::object();
  for (const auto& [p, o] : next_offsets) committed[std::to_string(p)] = o;
  return json{{"address", port.ToString()}, {"group", group}, {"committed", committed}};
}

Result<std::vector<std::pair<int64_t, int64_t>>> Platform::StreamBounds(const PortRef& ref) {
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<OpenStream> s, GetStream(ref));
  const log::Log& lg = s->port->stream();
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int32_t p = 0; p < lg.partitions(); ++p) {
    LOOM_ASSIGN_OR_RETURN(log::Offset start, lg.StartOffset(p));
    LOOM_ASSIGN_OR_RETURN(log::Offset end, lg.EndOffset(p));
    out.emplace_back(start.value, end.value);
  }
  return out;
}

Result<std::optional<TimestampMicros>> Platform::NewestEventTime(const PortRef& ref) {
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<OpenStream> s, GetStream(ref));
  const log::Log& lg = s->port->stream();
  std::optional<TimestampMicros> newest;
  for (int32_t p = 0; p < lg.partitions(); ++p) {
    LOOM_ASSIGN_OR_RETURN(log::Offset start, lg.StartOffset(p));
    LOOM_ASSIGN_OR_RETURN(log::Offset end, lg.EndOffset(p));
    if (end.value <= start.value) continue;
    log::ReadOptions ro;
    ro.max_records = 1;
    LOOM_ASSIGN_OR_RETURN(log::ReadResult r,
                          lg.Read(p, log::Offset(end.value - 1), ro, [&](const log::RecordView& v) {
                            if (!newest || v.timestamp > *newest) {
                              newest = v.timestamp;
                            }
                            return true;
                          }));
    (void)r;
  }
  return newest;
}

Result<bool> Platform::StreamHealthy(const PortRef& ref) {
  Result<std::shared_ptr<OpenStream>> s = GetStream(ref);
  if (!s.ok()) return false;
  const log::Log& lg = (*s)->port->stream();
  for (int32_t p = 0; p < lg.partitions(); ++p) {
    if (!lg.PartitionHealth(p).ok()) return false;
  }
  return true;
}

}  // namespace loom::platform
