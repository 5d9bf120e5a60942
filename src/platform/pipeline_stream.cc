// Streaming runs: one step processes what is new on the stream input since the committed
// progress. Into a stream port, each input event's results are appended with ids derived from
// the input partition and offset (a replay is de-duplicated by the port); into a table port,
// tumbling event-time windows are published when the watermark passes them. Progress is
// committed with the run; a step that finds the output ahead of its progress (a crash between
// publishing and committing) takes the output's recorded inputs as its progress.

#include <algorithm>
#include <limits>

#include "core/sealed_file.h"
#include "platform/pipeline_runner.h"

namespace loom::platform {
namespace {

using nlohmann::json;

constexpr int64_t kMaxStepEvents = 50000;  // per partition and step (stream outputs)
// A step's output is published in up to kMaxOutputLanes lanes side by side, one per
// kLaneEvents input events: each request then waits for its log sync together with the others
// instead of after them (the step's own thread and Platform::OutputWorkers).
constexpr int64_t kLaneEvents = 2500;
constexpr int64_t kMaxOutputLanes = 4;

// The start of the window of width w that holds t.
int64_t FloorTo(int64_t t, int64_t w) { return t >= 0 ? t / w * w : -((-t + w - 1) / w) * w; }

std::string Us(const std::string& column) { return "epoch_us(" + engine::QuoteIdent(column) + ")"; }

// The output row as event data: the schema's fields; timestamps as TIMESTAMP WITH TIME ZONE,
// which ToEvents writes in RFC 3339 (formatting them in SQL went through ICU's calendar for
// every value: a fifth of a step's query).
std::string OutputSelect(const spec::Schema& schema, const std::vector<std::string>& result_cols) {
  std::string s;
  for (const spec::Field& f : schema.fields) {
    if (std::find(result_cols.begin(), result_cols.end(), f.name) == result_cols.end()) continue;
    std::string q = engine::QuoteIdent(f.name);
    std::string e = q;
    if (f.type.kind == spec::TypeKind::kTimestamp) {
      e = "CAST(" + q + " AS TIMESTAMPTZ)";
    } else if (f.type.kind == spec::TypeKind::kDate) {
      e = "strftime(" + q + ", '%Y-%m-%d')";
    } else if (f.type.kind == spec::TypeKind::kDecimal || f.type.kind == spec::TypeKind::kUuid) {
      e = "CAST(" + q + " AS VARCHAR)";
    }
    s += (s.empty() ? "" : ", ") + e + " AS " + q;
  }
  return s;
}

// Everything a session is opened with, as text: two equal texts open equal sessions.
std::string OptionsText(const engine::SessionOptions& o) {
  json relations = json::array();
  for (const engine::Relation& r : o.relations) {
    json columns = json::array();
    for (const engine::RelationColumn& c : r.columns) columns.push_back({c.name, c.type, c.mask});
    relations.push_back(
        {r.sql_name, r.files, r.file_aads, r.record_partitions, r.row_filter, columns});
  }
  return json{relations, o.threads, o.memory_limit, o.timeout.count(), o.scratch_dir}.dump();
}

}  // namespace

Result<pipeline::Run> Platform::PipelineRunner::StreamingStep(Platform& p,
                                                              const spec::DataProduct& product,
                                                              const std::string& trigger) {
  LOOM_ASSIGN_OR_RETURN(pipeline::StateStore * state, p.PipelineState());
  Caller service = ServiceCaller(product.domain);
  const spec::Transform& t = *product.transform;
  Address output{product.domain, product.name, t.output, std::nullopt};
  pipeline::Run run;
  run.run_uuid = NewUuid();
  run.pipeline = pipeline::PortKey(output);
  run.trigger = trigger;
  run.principal = service.principal();
  run.status = pipeline::RunStatus::kSkipped;
  // The one stream input drives the step; table inputs are read at their current version.
  const spec::InputPort* driver = nullptr;
  Status checked = Preflight(p, service, product);
  for (const spec::InputPort& in : product.input_ports) {
    if (!checked.ok()) break;
    Result<std::unique_ptr<PortRef>> ref = p.ResolvePort(in.address);
    if (!ref.ok() || (*ref)->port->kind != spec::PortKind::kStream) continue;
    if (driver != nullptr) {
      checked = InvalidArgument("a streaming transform reads one stream input; '" + driver->alias +
                                "' and '" + in.alias + "' are both streams");
    }
    driver = &in;
  }
  if (checked.ok() && driver == nullptr) {
    checked = InvalidArgument("a streaming transform needs a stream input port");
  }
  if (!checked.ok()) {
    // Recorded, so that the scheduler backs off instead of failing every tick.
    LOOM_RETURN_IF_ERROR(state->BeginRun(run));
    run.status = pipeline::RunStatus::kFailed;
    run.error = checked.message();
    LOOM_RETURN_IF_ERROR(Finish(p, product, run, nullptr, std::nullopt));
    return checked.WithPrefix("pipeline " + run.pipeline);
  }
  Address driver_port{driver->address.domain, driver->address.product, driver->address.port, {}};
  const std::string driver_key = pipeline::PortKey(driver_port);
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> driver_ref, p.ResolvePort(driver_port));
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> out_ref, p.ResolvePort(output));
  const bool into_table = out_ref->port->kind == spec::PortKind::kTable;

  LOOM_ASSIGN_OR_RETURN(std::optional<pipeline::Progress> saved, state->GetProgress(run.pipeline));
  pipeline::Progress progress = saved.value_or(pipeline::Progress{});
  table::Table* out_table = nullptr;
  std::optional<table::Snapshot> out_current;
  std::map<int32_t, int64_t> recovered_end;  // the output is ahead: its recorded offsets
  if (into_table) {
    LOOM_ASSIGN_OR_RETURN(out_table, p.GetTable(*out_ref));
    Result<table::Snapshot> cur = out_table->Current();
    if (cur.ok()) out_current = *cur;
    if (out_current &&
        out_current->manifest.version.number() > progress.output_version.value_or(0)) {
      for (const table::InputRef& in : out_current->manifest.inputs) {
        if (in.address == driver_key && in.partition && in.offset_end) {
          recovered_end[static_cast<int32_t>(*in.partition)] = static_cast<int64_t>(*in.offset_end);
        }
      }
    }
  }

  // Bind: stream outputs read the new slice; table outputs the whole prefix up to the new end
  // (lateness is a property of each partition's prefix), or up to the recovered end.
  Pins pins;
  pins.untiered = !into_table;
  {
    LOOM_ASSIGN_OR_RETURN(std::shared_ptr<OpenStream> s, p.GetStream(*driver_ref));
    const log::Log& lg = s->port->stream();
    for (int32_t part = 0; part < lg.partitions(); ++part) {
      pipeline::InputRange r;
      r.address = driver_key;
      r.partition = part;
      auto next = progress.next_offsets.find(part);
      if (!into_table && next != progress.next_offsets.end()) r.offset_begin = next->second;
      if (auto rec = recovered_end.find(part); rec != recovered_end.end()) {
        r.offset_end = rec->second;
      }
      pins.ranges.push_back(r);
    }
  }
  LOOM_ASSIGN_OR_RETURN(Bound bound, BindInputs(p, product, &pins));
  std::map<int32_t, int64_t> begin, end;
  for (const pipeline::InputRange& r : bound.ranges) {
    if (r.address != driver_key || !r.partition) continue;
    int64_t b = into_table ? progress.next_offsets.count(*r.partition)
                                 ? progress.next_offsets[*r.partition]
                                 : *r.offset_begin
                           : *r.offset_begin;
    begin[*r.partition] = b;
    end[*r.partition] = *r.offset_end;
    if (!into_table && end[*r.partition] - b > kMaxStepEvents) {
      end[*r.partition] = b + kMaxStepEvents;
    }
  }
  bool anything = false;
  for (const auto& [part, e] : end) anything = anything || e > begin[part];
  if (!anything) return run;  // nothing new: a skipped step, not recorded

  LOOM_RETURN_IF_ERROR(state->BeginRun(run));
  run.status = pipeline::RunStatus::kRunning;
  std::string base_select;
  for (pipeline::BoundInput& in : bound.inputs) {
    if (in.alias == driver->alias) base_select = in.select_sql;
  }
  Status st;
  pipeline::Progress next;
  next.next_offsets = end;
  next.state = progress.state;
  next.output_version = progress.output_version;
  if (!into_table) {
    // The slice [begin, end) exactly, each result row carrying its input event's place.
    std::string where;
    for (const auto& [part, e] : end) {
      where += std::string(where.empty() ? "" : " OR ") +
               "(ce_partition = " + std::to_string(part) +
               " AND ce_offset >= " + std::to_string(begin[part]) + " AND ce_offset < " +
               std::to_string(e) + ")";
    }
    // What decides the result's columns: the transform and its inputs' columns.
    json shape_json = {t.sql, json::array(), bound.columns};
    for (const spec::TransformStep& step : t.steps) {
      shape_json[1].push_back({step.kind, step.options});
    }
    const std::string shape = shape_json.dump();
    for (pipeline::BoundInput& in : bound.inputs) {
      if (in.alias == driver->alias)
        in.select_sql = "SELECT * FROM (" + base_select + ") WHERE " + where;
    }
    run.inputs.clear();
    for (const pipeline::InputRange& r : bound.ranges) {
      if (r.address != driver_key) run.inputs.push_back(r);
    }
    for (const auto& [part, e] : end) {
      pipeline::InputRange r;
      r.address = driver_key;
      r.partition = part;
      r.offset_begin = begin[part];
      r.offset_end = e;
      run.inputs.push_back(r);
    }
    Result<std::string> composed = pipeline::ComposeSql(t, bound.inputs, bound.columns);
    st = composed.status();
    // The new records alone, read from the log (no Parquet conversion), in the service
    // principal's session with its masks and row filters, like the tier would be. The session
    // stays for the next step while it would open the same relations with the same rights:
    // only its slice files are rewritten.
    std::unique_ptr<StepSession>& kept = p.step_sessions_[run.pipeline];
    if (kept == nullptr) kept = std::make_unique<StepSession>();
    if (st.ok()) {
      LOOM_ASSIGN_OR_RETURN(std::shared_ptr<OpenStream> ds, p.GetStream(*driver_ref));
      std::vector<engine::SliceRange> ranges;
      for (const auto& [part, e] : end) ranges.push_back({part, begin[part], e});
      st = engine::SliceStream(ds->port->stream(), ds->schema, driver_port.SqlName(), ranges,
                               &kept->slice);
    }
    if (st.ok()) {
      Result<engine::SessionOptions> options = p.SessionOptionsFor(
          service, *composed, std::nullopt, {{driver_port.SqlName(), &kept->slice.relation}});
      st = options.status();
      if (st.ok()) {
        std::string opened_with = OptionsText(*options);
        if (kept->session == nullptr || kept->opened_with != opened_with) {
          kept->session.reset();
          kept->columns.clear();
          Result<std::unique_ptr<engine::Session>> session =
              engine::Session::Open(std::move(*options));
          st = session.status();
          if (st.ok()) {
            kept->session = std::move(*session);
            kept->opened_with = std::move(opened_with);
          }
        }
      }
      if (st.ok() && (kept->shape != shape || kept->columns.empty())) {
        Result<engine::Rows> probe =
            kept->session->QueryRows("SELECT * FROM (" + *composed + ") LIMIT 0", 1);
        st = probe.status();
        if (probe.ok()) {
          kept->columns.clear();
          for (const engine::Column& c : probe->columns) kept->columns.push_back(c.name);
          kept->shape = shape;
        }
      }
      const std::vector<std::string>& cols = kept->columns;
      bool placed = std::find(cols.begin(), cols.end(), "ce_partition") != cols.end() &&
                    std::find(cols.begin(), cols.end(), "ce_offset") != cols.end();
      bool timed = std::find(cols.begin(), cols.end(), "ce_time") != cols.end();
      if (st.ok()) {
        // The input event's place first, in the input's order. Ordering by the place alone
        // spares sorting every value; when an input event gives several rows, they are
        // numbered in the order of their values: the query runs again ordered by all columns.
        auto sql = [&](const char* order) {
          return std::string("SELECT ") +
                 (placed ? "CAST(ce_partition AS INTEGER) AS __loom_p, CAST(ce_offset AS BIGINT) "
                           "AS __loom_o, "
                         : "") +
                 OutputSelect(product.schema, cols) +
                 (timed ? ", CAST(ce_time AS TIMESTAMPTZ) AS __loom_t" : "") + " FROM (" +
                 *composed + ") ORDER BY " + order;
        };
        // Lanes of output published side by side: a few, each worth a request.
        int64_t input_events = 0;
        for (const auto& [part, e] : end) input_events += e - begin[part];
        const size_t lanes = static_cast<size_t>(
            std::clamp<int64_t>(input_events / kLaneEvents, 1, kMaxOutputLanes));
        std::string type = out_ref->port->stream.event_type.empty()
                               ? "loom.pipeline." + product.name
                               : out_ref->port->stream.event_type;
        auto run_query = [&](const char* order, bool stop_on_tie) -> Result<OutputEvents> {
          LOOM_ASSIGN_OR_RETURN(std::unique_ptr<engine::QueryResult> result,
                                kept->session->Query(sql(order)));
          return ToEvents(*result, driver_key, begin.begin()->second,
                          Address{product.domain, product.name, "", {}}, type, 10 * kMaxStepEvents,
                          stop_on_tie, out_ref->port->stream.partition_key, lanes);
        };
        Result<OutputEvents> events = run_query(placed ? "__loom_p, __loom_o" : "ALL", placed);
        if (events.ok() && events->tied) events = run_query("ALL", false);
        st = events.status();
        if (events.ok()) {
          run.rows = static_cast<int64_t>(events->size());
          Result<StepOutput> published = PublishOutput(p, service, output, *events);
          st = published.status();
          if (published.ok() && events->size() > 0) {
            pipeline::FaultPoint("pipeline-after-publish");
            run.detail["accepted"] = published->accepted;
            run.detail["duplicates"] = published->duplicates;
            run.detail["quarantined"] = published->quarantined;
            if (!published->rejection.empty()) {
              st = InvalidArgument("the transform's output was rejected by " + output.ToString() +
                                   ": " + published->rejection);
            }
            json ranges = json::array();
            for (const auto& [op, r] : published->ranges) {
              ranges.push_back(
                  {{"partition", op}, {"offsetBegin", r.first}, {"offsetEnd", r.second}});
            }
            run.detail["outputRanges"] = ranges;
          }
        }
      }
    }
    // A failed step opens its session afresh the next time.
    if (!st.ok()) p.step_sessions_.erase(run.pipeline);
  } else {
    // Windows: per partition, an event is late when its window ended at or before the
    // partition's watermark (the largest event time before it, less the allowed lateness).
    const int64_t w = *t.window_ms * 1000;
    const int64_t lateness = t.allowed_lateness_ms * 1000;
    std::string time_col = driver_ref->port->stream.event_time.value_or("ce_time");
    std::string flagged = "SELECT *, " + Us(time_col) + " AS __loom_us, ((" + Us(time_col) +
                          " // " + std::to_string(w) + ") * " + std::to_string(w) + " + " +
                          std::to_string(w) + " <= coalesce(max(" + Us(time_col) +
                          ") OVER (PARTITION BY ce_partition ORDER BY ce_offset ROWS BETWEEN "
                          "UNBOUNDED PRECEDING AND 1 PRECEDING) - " +
                          std::to_string(lateness) +
                          ", -9223372036854775807)) AS __loom_late FROM (" + base_select + ")";
    int64_t closed = progress.state.value("closedUntil", std::numeric_limits<int64_t>::min());
    Result<std::unique_ptr<engine::Session>> session =
        p.OpenQuerySession(service, flagged, std::nullopt);
    st = session.status();
    int64_t watermark = std::numeric_limits<int64_t>::min();
    json late = json::array();
    if (st.ok()) {
      Result<engine::Rows> stats = (*session)->QueryRows(
          "SELECT ce_partition, max(__loom_us), min(__loom_us) FROM (" + flagged + ") GROUP BY 1",
          100000);
      st = stats.status();
      if (stats.ok()) {
        std::map<int32_t, int64_t> maxes;
        int64_t earliest = std::numeric_limits<int64_t>::max();
        for (size_t i = 0; i < stats->size(); ++i) {
          maxes[std::stoi(stats->Get(i, 0))] = std::stoll(stats->Get(i, 1));
          earliest = std::min<int64_t>(earliest, std::stoll(stats->Get(i, 2)));
        }
        // The first window is the one of the earliest event.
        if (closed == std::numeric_limits<int64_t>::min() && !maxes.empty()) {
          closed = FloorTo(earliest, w);
        }
        // Every partition must have spoken before the watermark moves (an idle one holds it).
        if (maxes.size() == end.size()) {
          int64_t m = std::numeric_limits<int64_t>::max();
          for (const auto& [part, v] : maxes) m = std::min(m, v);
          watermark = m - lateness;
        }
      }
      std::string slice;
      for (const auto& [part, e] : end) {
        slice += std::string(slice.empty() ? "" : " OR ") +
                 "(ce_partition = " + std::to_string(part) +
                 " AND ce_offset >= " + std::to_string(begin[part]) + ")";
      }
      Result<engine::Rows> late_rows =
          (*session)->QueryRows("SELECT ce_partition, ce_offset, __loom_us FROM (" + flagged +
                                    ") WHERE __loom_late AND (" + slice + ") ORDER BY 1, 2",
                                100000);
      if (st.ok()) st = late_rows.status();
      if (late_rows.ok()) {
        for (size_t i = 0; i < late_rows->size(); ++i) {
          int64_t us = std::stoll(late_rows->Get(i, 2));
          late.push_back({{"partition", std::stoi(late_rows->Get(i, 0))},
                          {"offset", std::stoll(late_rows->Get(i, 1))},
                          {"eventTime", FormatRfc3339(us)},
                          {"window", FormatRfc3339(FloorTo(us, w))}});
        }
      }
    }
    int64_t close_to =
        watermark == std::numeric_limits<int64_t>::min() ? closed : FloorTo(watermark, w);
    close_to = std::max(close_to, closed);
    run.detail["lateEvents"] = late;
    run.detail["late"] = late.size();
    next.state["late"] =
        progress.state.value("late", int64_t{0}) + static_cast<int64_t>(late.size());
    if (watermark != std::numeric_limits<int64_t>::min()) {
      run.detail["watermark"] = FormatRfc3339(watermark);
    }
    run.inputs = bound.ranges;
    if (st.ok() && close_to > closed) {
      // Persisted only once a window closes: until then an earlier event may still come.
      next.state["closedUntil"] = close_to;
      run.detail["closedUntil"] = FormatRfc3339(close_to);
      if (!recovered_end.empty()) {
        // The output already holds these windows (published before a crash): adopt it.
        next.output_version = out_current->manifest.version.number();
        run.output_version = next.output_version;
        run.detail["recovered"] = true;
      } else {
        std::string lower = " AND __loom_us >= " + std::to_string(closed);
        for (pipeline::BoundInput& in : bound.inputs) {
          if (in.alias != driver->alias) continue;
          in.select_sql = "SELECT * EXCLUDE (__loom_us, __loom_late) FROM (" + flagged +
                          ") WHERE NOT __loom_late" + lower + " AND __loom_us < " +
                          std::to_string(close_to);
        }
        Result<std::string> composed = pipeline::ComposeSql(t, bound.inputs, bound.columns);
        st = composed.status();
        if (st.ok()) {
          std::string sql = *composed;
          if (out_current) {
            sql = "SELECT * FROM " + output.SqlName() + "__v" +
                  std::to_string(out_current->manifest.version.number()) +
                  " UNION ALL BY NAME SELECT * FROM (" + *composed + ")";
          }
          Result<table::Manifest> m = PublishSelect(
              p, service, output, sql, bound.ranges,
              "pipeline window until " + FormatRfc3339(close_to) + ", run " + run.run_uuid);
          st = m.status();
          if (m.ok()) {
            pipeline::FaultPoint("pipeline-after-publish");
            next.output_version = m->version.number();
            run.output_version = next.output_version;
            run.rows = static_cast<int64_t>(m->row_count);
          }
        }
      }
    }
  }
  run.status = st.ok() ? pipeline::RunStatus::kSucceeded : pipeline::RunStatus::kFailed;
  if (!st.ok()) run.error = st.message();
  LOOM_RETURN_IF_ERROR(Finish(p, product, run, &bound,
                              st.ok() ? std::optional<pipeline::Progress>(next) : std::nullopt));
  if (!st.ok()) return st.WithPrefix("pipeline " + run.pipeline);
  return run;
}

}  // namespace loom::platform
