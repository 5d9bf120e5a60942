// Snapshot table ports: closed time windows of a product's own stream port, published as table
// versions on the interval the descriptor declares (the article's daily/monthly aggregates).

#include <ctime>
#include <regex>

#include "platform/platform.h"

#include "core/sealed_file.h"

namespace loom::platform {
namespace {

using nlohmann::json;

constexpr int64_t kHour = 3600ll * 1000000;
constexpr int64_t kDay = 24 * kHour;

// The start of the window holding t, and the start of the next one.
std::pair<TimestampMicros, TimestampMicros> WindowOf(TimestampMicros t, spec::SnapshotInterval i) {
  if (i == spec::SnapshotInterval::kHourly) {
    TimestampMicros s = t - ((t % kHour) + kHour) % kHour;
    return {s, s + kHour};
  }
  if (i == spec::SnapshotInterval::kDaily) {
    TimestampMicros s = t - ((t % kDay) + kDay) % kDay;
    return {s, s + kDay};
  }
  std::time_t secs = static_cast<std::time_t>(t / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  TimestampMicros s = static_cast<TimestampMicros>(timegm(&tm)) * 1000000;
  tm.tm_mon += 1;
  TimestampMicros e = static_cast<TimestampMicros>(timegm(&tm)) * 1000000;
  return {s, e};
}

std::string SqlList(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + engine::QuoteString(items[i]);
  return s + "]";
}

// The end of the last published window, from the version's source description.
std::optional<TimestampMicros> LastWindowEnd(const std::vector<table::Manifest>& versions) {
  static const std::regex kWindow(R"(^window \[([^,]+), ([^)]+)\))");
  // The latest window end over every version: an older window published again by hand must
  // not make the scheduler go back in time.
  std::optional<TimestampMicros> last;
  for (const table::Manifest& v : versions) {
    std::smatch m;
    if (std::regex_search(v.source_description, m, kWindow)) {
      Result<TimestampMicros> end = ParseRfc3339(m[2].str());
      if (end.ok() && (!last || *end > *last)) last = *end;
    }
  }
  return last;
}

}  // namespace

Result<json> Platform::PublishSnapshots(const Caller& caller, const Address& address,
                                        std::optional<TimestampMicros> window_start) {
  LOOM_RETURN_IF_ERROR(Require(caller, address, security::Operation::kWrite, "publish").status());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, ResolvePort(address));
  Address table_addr{address.domain, address.product, address.port, {}};
  if (ref->port->kind != spec::PortKind::kTable || !ref->port->table.snapshot) {
    return InvalidArgument("port " + table_addr.ToString() +
                           " is not a snapshot table port (declare table.snapshot.from)");
  }
  const spec::SnapshotSettings& snap = *ref->port->table.snapshot;
  const spec::OutputPort* stream_port = ref->product.FindPort(snap.from_port);
  if (stream_port == nullptr || stream_port->kind != spec::PortKind::kStream) {
    return Internal("snapshot source '" + snap.from_port + "' is not a stream port");
  }
  PortRef stream_ref{ref->product, stream_port};
  Address stream_addr{address.domain, address.product, stream_port->name, {}};
  LOOM_ASSIGN_OR_RETURN(table::Table * t, GetTable(*ref));
  LOOM_ASSIGN_OR_RETURN(std::vector<table::Manifest> versions, t->Versions());

  const TimestampMicros now = options_.clock->NowMicros();
  std::vector<std::pair<TimestampMicros, TimestampMicros>> windows;
  if (window_start) {
    auto w = WindowOf(*window_start, snap.interval);
    if (w.first != *window_start) {
      return InvalidArgument("window start " + FormatRfc3339(*window_start) +
                             " is not the start of a window (next: " + FormatRfc3339(w.second) +
                             ")");
    }
    if (w.second > now) {
      return FailedPrecondition("window [" + FormatRfc3339(w.first) + ", " +
                                FormatRfc3339(w.second) + ") is not closed yet");
    }
    windows.push_back(w);
  } else {
    auto current = WindowOf(now, snap.interval);
    std::optional<TimestampMicros> last_end = LastWindowEnd(versions);
    TimestampMicros start = last_end ? *last_end : WindowOf(current.first - 1, snap.interval).first;
    while (start < current.first && windows.size() < 100) {
      auto w = WindowOf(start, snap.interval);
      windows.push_back(w);
      start = w.second;
    }
  }
  json published = json::array();
  if (windows.empty()) return json{{"address", table_addr.ToString()}, {"published", published}};

  LOOM_ASSIGN_OR_RETURN(engine::Relation rel, StreamRelation(stream_ref));
  // An encrypted tier's files are read from memory while this publish runs.
  std::vector<std::unique_ptr<MemFile>> plain;
  LOOM_RETURN_IF_ERROR(engine::OpenSealedFiles(rel, &plain));
  std::string time_col = stream_port->stream.event_time.value_or("ce_time");
  std::string fields;
  for (const spec::Field& f : ref->product.schema.fields) {
    fields += (fields.empty() ? "" : ", ") + engine::QuoteIdent(f.name);
  }
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<engine::Connection> conn, trusted_db_->Connect());
  for (const auto& [start, end] : windows) {
    std::string source = rel.files.empty() ? "(SELECT * FROM (SELECT 1) WHERE false)"
                                           : "read_parquet(" + SqlList(rel.files) + ")";
    std::string where = " WHERE " + engine::QuoteIdent(time_col) +
                        " >= " + engine::QuoteString(FormatRfc3339(start)) + "::TIMESTAMPTZ AND " +
                        engine::QuoteIdent(time_col) + " < " +
                        engine::QuoteString(FormatRfc3339(end)) + "::TIMESTAMPTZ";
    table::StreamWindow window;
    window.stream_address = stream_addr.ToString();
    window.start = start;
    window.end = end;
    if (!rel.files.empty()) {
      LOOM_ASSIGN_OR_RETURN(
          engine::Rows ranges,
          conn->QueryRows("SELECT ce_partition, min(ce_offset), max(ce_offset) + 1 FROM " + source +
                          where + " GROUP BY 1 ORDER BY 1"));
      for (size_t i = 0; i < ranges.size(); ++i) {
        table::InputRef in;
        in.address = stream_addr.ToString();
        in.partition = static_cast<uint32_t>(std::stoul(ranges.Get(i, 0)));
        in.offset_begin = std::stoull(ranges.Get(i, 1));
        in.offset_end = std::stoull(ranges.Get(i, 2));
        window.offsets.push_back(in);
      }
    }
    std::string rows_sql =
        rel.files.empty()
            ? "SELECT " + fields + " FROM (SELECT * FROM read_parquet([])) WHERE false"
            : "SELECT " + fields + " FROM " + source + where;
    if (rel.files.empty()) {
      // No event was ever tiered: an empty window of the right shape.
      std::string cols;
      for (const spec::Field& f : ref->product.schema.fields) {
        cols += (cols.empty() ? "" : ", ") + std::string("CAST(NULL AS ") + f.type.SqlType() +
                ") AS " + engine::QuoteIdent(f.name);
      }
      rows_sql = "SELECT " + cols + " WHERE false";
    }
    table::PublishOptions po;
    po.published_by = caller.principal();
    auto report = std::make_shared<quality::CheckReport>();
    po.before_commit = QualityGate(*ref, report);
    LOOM_ASSIGN_OR_RETURN(table::Manifest m,
                          t->PublishStreamWindow(window, conn.get(), rows_sql, "", po));
    RecordPublished(table_addr, m, report);
    published.push_back({{"version", m.version.number()},
                         {"window", {FormatRfc3339(start), FormatRfc3339(end)}},
                         {"rows", m.row_count}});
  }
  for (const json& v : published) {
    LOOM_RETURN_IF_ERROR(Audited(caller, "publish", table_addr, v.value("rows", int64_t{-1}), "",
                                 "snapshot window " + v["window"].dump()));
  }
  return json{{"address", table_addr.ToString()}, {"published", published}};
}

Result<json> Platform::PublishDueSnapshots(const Caller& caller) {
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::ProductSummary> products,
                        catalog_->ListProducts(std::nullopt));
  json out = json::array();
  for (const catalog::ProductSummary& summary : products) {
    LOOM_ASSIGN_OR_RETURN(
        catalog::StoredDocument doc,
        catalog_->Get(catalog::ProductKey(summary.domain, summary.name), std::nullopt));
    LOOM_ASSIGN_OR_RETURN(const spec::DataProduct product, LoadProduct(doc));
    for (const spec::OutputPort& port : product.output_ports) {
      if (port.kind != spec::PortKind::kTable || !port.table.snapshot) continue;
      Address a{summary.domain, summary.name, port.name, {}};
      // Only the ports the caller may publish are due for it.
      if (!Authz()->Check(caller.identity, a, security::Operation::kWrite).allowed) continue;
      LOOM_ASSIGN_OR_RETURN(json r, PublishSnapshots(caller, a, std::nullopt));
      if (!r["published"].empty()) out.push_back(std::move(r));
    }
  }
  return json{{"snapshots", out}};
}

}  // namespace loom::platform
