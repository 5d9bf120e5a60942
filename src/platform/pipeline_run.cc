// Batch runs of a product's pipeline: check, pin the inputs, compose the SQL, run it as the
// domain's service principal and publish the output version with its exact inputs.

#include <algorithm>
#include <cstdlib>

#include "platform/pipeline_runner.h"
#include "platform/scratch_query.h"

namespace loom::platform {
namespace {

using nlohmann::json;

std::string Where(const spec::SourcePos& pos) {
  if (pos.file.empty()) return "";
  return " (" + pos.file + ":" + std::to_string(pos.line) + ")";
}

// Options::openlineage_url, else $LOOM_OPENLINEAGE_URL, else "" (files under <data>/lineage/).
std::string OpenLineageUrl(const Options& options) {
  if (!options.openlineage_url.empty()) return options.openlineage_url;
  const char* env = std::getenv("LOOM_OPENLINEAGE_URL");
  return env != nullptr ? env : "";
}

std::string InputName(const spec::InputPort& in) {
  return "input '" + in.alias + "' (" + in.address.ToString() + ")";
}

}  // namespace

Caller Platform::PipelineRunner::ServiceCaller(const std::string& domain) {
  return Caller::Service(domain);
}

Status Platform::PipelineRunner::Preflight(Platform& p, const Caller& service,
                                           const spec::DataProduct& product) {
  const std::string name = product.address().ToString();
  if (!product.transform) return InvalidArgument("product " + name + " declares no transform");
  const spec::Transform& t = *product.transform;
  const spec::OutputPort* out = product.FindPort(t.output);
  if (out == nullptr) {
    return InvalidArgument(name + ": transform.output '" + t.output + "' is not a port of it" +
                           Where(t.pos));
  }
  if (t.mode == spec::TransformMode::kBatch && out->kind != spec::PortKind::kTable) {
    return InvalidArgument(name + ": a batch transform writes a table port; '" + t.output +
                           "' is a stream port" + Where(t.pos));
  }
  if (t.mode == spec::TransformMode::kStreaming && out->kind == spec::PortKind::kTable &&
      !t.window_ms) {
    return InvalidArgument(name + ": a streaming transform into table port '" + t.output +
                           "' needs a window (transform.window)" + Where(t.pos));
  }
  LOOM_RETURN_IF_ERROR(pipeline::ValidateSchedule(t.schedule).WithPrefix(name));
  if (product.input_ports.empty()) {
    return InvalidArgument(name + ": the transform has no input ports to read");
  }
  for (const spec::InputPort& in : product.input_ports) {
    // Access first: a refusal says the same whether the input is missing or only unreadable.
    Result<security::Decision> allowed =
        p.Require(service, in.address, security::Operation::kRead, "pipeline");
    if (!allowed.ok()) {
      // As for any caller, an input the service principal may not see reads as missing (the
      // code is kNotFound then); the message says what would fix either case.
      Address product_of{in.address.domain, in.address.product, "", std::nullopt};
      std::string why = allowed.status().code() == StatusCode::kNotFound
                            ? "or the address names no product"
                            : allowed.status().message();
      return Status(allowed.status().code(),
                    name + ": " + InputName(in) + Where(in.pos) + ": " + service.principal() +
                        " may not read it: it needs the read permission on the input (loom "
                        "grant " +
                        service.principal() + " read " + product_of.ToString() + "); " + why);
    }
    Result<std::unique_ptr<PortRef>> ref = p.ResolvePort(in.address);
    if (!ref.ok()) {
      return Status(ref.status().code(),
                    name + ": " + InputName(in) + Where(in.pos) + ": " + ref.status().message());
    }
  }
  return Status::Ok();
}

Result<Platform::PipelineRunner::Bound> Platform::PipelineRunner::BindInputs(
    Platform& p, const spec::DataProduct& product, const Pins* pins) {
  Bound b;
  for (const spec::InputPort& in : product.input_ports) {
    Address port{in.address.domain, in.address.product, in.address.port, std::nullopt};
    std::string key = pipeline::PortKey(port);
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, p.ResolvePort(port));
    b.alias_to_input[in.alias] = key;
    std::vector<pipeline::InputRange> pinned;
    if (pins != nullptr) {
      for (const pipeline::InputRange& r : pins->ranges) {
        if (r.address == key) pinned.push_back(r);
      }
    }
    if (ref->port->kind == spec::PortKind::kTable) {
      LOOM_ASSIGN_OR_RETURN(table::Table * t, p.GetTable(*ref));
      Result<table::Snapshot> snap = Status(StatusCode::kNotFound, "");
      if (!pinned.empty() && pinned[0].version) {
        snap = t->At(table::Version(*pinned[0].version));
      } else if (pins != nullptr && pins->as_of) {
        snap = t->AsOf(*pins->as_of);
      } else {
        snap = t->Current();
      }
      if (!snap.ok()) {
        if (snap.status().code() != StatusCode::kNotFound) return snap.status();
        return FailedPrecondition(
            InputName(in) + " has no table version yet" +
            (pins && pins->as_of ? " at the time asked" : "") +
            (snap.status().message().empty() ? "" : ": " + snap.status().message()));
      }
      uint64_t v = snap->manifest.version.number();
      b.inputs.push_back({in.alias, "SELECT * FROM " + port.SqlName() + "__v" + std::to_string(v)});
      std::vector<std::string>& cols = b.columns[in.alias];
      for (const table::Column& c : snap->manifest.schema) cols.push_back(c.name);
      pipeline::InputRange r;
      r.address = key;
      r.version = v;
      b.ranges.push_back(r);
      continue;
    }
    // A stream: its SQL tier brought up to date first, so that the session opened later holds
    // at least every offset pinned here; untiered, up to its log's end (the run reads slices).
    const bool untiered = pins != nullptr && pins->untiered;
    std::vector<engine::RelationColumn> stream_columns;
    if (untiered) {
      LOOM_ASSIGN_OR_RETURN(std::shared_ptr<OpenStream> s, p.GetStream(*ref));
      LOOM_ASSIGN_OR_RETURN(stream_columns, engine::StreamColumns(s->schema));
    } else {
      LOOM_ASSIGN_OR_RETURN(engine::Relation rel, p.StreamRelation(*ref));
      stream_columns = std::move(rel.columns);
    }
    LOOM_ASSIGN_OR_RETURN(std::shared_ptr<OpenStream> s, p.GetStream(*ref));
    std::string where;
    {
      std::lock_guard<std::mutex> lock(s->tier_mu);
      const log::Log& lg = s->port->stream();
      for (int32_t part = 0; part < lg.partitions(); ++part) {
        LOOM_ASSIGN_OR_RETURN(log::Offset start, lg.StartOffset(part));
        int64_t begin = start.value;
        int64_t end = 0;
        if (untiered) {
          LOOM_ASSIGN_OR_RETURN(log::Offset log_end, lg.EndOffset(part));
          end = log_end.value;
        } else {
          end = s->tier->TieredEnd(part);
        }
        auto pin = std::find_if(pinned.begin(), pinned.end(), [&](const pipeline::InputRange& r) {
          return r.partition && *r.partition == part;
        });
        if (pin != pinned.end()) {
          int64_t want_begin = pin->offset_begin.value_or(begin);
          int64_t want_end = pin->offset_end.value_or(end);
          if (want_begin < begin || want_end > end) {
            return FailedPrecondition(InputName(in) + " partition " + std::to_string(part) +
                                      ": offsets [" + std::to_string(want_begin) + ", " +
                                      std::to_string(want_end) +
                                      ") are no longer all in the log "
                                      "(it holds [" +
                                      std::to_string(begin) + ", " + std::to_string(end) + "))");
          }
          begin = want_begin;
          end = want_end;
        } else if (pins != nullptr && pins->as_of) {
          LOOM_ASSIGN_OR_RETURN(log::Offset at, lg.OffsetForTimestamp(part, *pins->as_of));
          end = std::clamp<int64_t>(at.value, begin, end);
        }
        where += std::string(where.empty() ? "" : " OR ") +
                 "(ce_partition = " + std::to_string(part) +
                 " AND ce_offset >= " + std::to_string(begin) + " AND ce_offset < " +
                 std::to_string(end) + ")";
        pipeline::InputRange r;
        r.address = key;
        r.partition = part;
        r.offset_begin = begin;
        r.offset_end = end;
        b.ranges.push_back(r);
      }
    }
    b.inputs.push_back({in.alias, "SELECT * FROM " + port.SqlName() + " WHERE " +
                                      (where.empty() ? "false" : where)});
    std::vector<std::string>& cols = b.columns[in.alias];
    for (const engine::RelationColumn& c : stream_columns) cols.push_back(c.name);
  }
  return b;
}

Result<table::Manifest> Platform::PipelineRunner::PublishSelect(
    Platform& p, const Caller& service, const Address& port, const std::string& sql,
    const std::vector<pipeline::InputRange>& inputs, const std::string& description) {
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, p.ResolvePort(port));
  const BlockCipher* cipher = nullptr;
  LOOM_ASSIGN_OR_RETURN(table::Table * t, p.GetTable(*ref, &cipher));
  QueryOptions options;
  options.format = engine::Format::kParquet;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PreparedQuery> q, p.PrepareQuery(service, sql, options));
  std::string dir = JoinPath(JoinPath(p.options_.data_dir, "scratch"), "pipeline-results");
  // An encrypted output's rows stay in memory until the table seals them.
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<ScratchParquet> result,
                        RunToScratchParquet(*q, dir, cipher != nullptr));
  table::PublishOptions po;
  po.published_by = service.principal();
  po.source_description = description;
  for (const pipeline::InputRange& r : inputs) {
    table::InputRef in;
    in.address = r.address;
    in.version = r.version;
    if (r.partition) in.partition = static_cast<uint32_t>(*r.partition);
    if (r.offset_begin) in.offset_begin = static_cast<uint64_t>(*r.offset_begin);
    if (r.offset_end) in.offset_end = static_cast<uint64_t>(*r.offset_end);
    po.inputs.push_back(in);
  }
  // The product's blocking expectations gate its pipeline's versions like any other publish.
  auto report = std::make_shared<quality::CheckReport>();
  po.before_commit = p.QualityGate(*ref, report);
  LOOM_ASSIGN_OR_RETURN(table::Manifest m,
                        t->PublishFile(result->path(), table::SourceKind::kParquet, po));
  p.RecordPublished(port, m, report);
  return m;
}

Status Platform::PipelineRunner::Finish(Platform& p, const spec::DataProduct& product,
                                        pipeline::Run& run, const Bound* bound,
                                        const std::optional<pipeline::Progress>& progress) {
  LOOM_ASSIGN_OR_RETURN(pipeline::StateStore * state, p.PipelineState());
  Address output{product.domain, product.name, product.transform->output, std::nullopt};
  run.finished_at = p.options_.clock->NowMicros();
  std::vector<pipeline::LineageRecord> lineage;
  pipeline::ColumnLineage columns;
  if (bound != nullptr && run.status == pipeline::RunStatus::kSucceeded) {
    for (const pipeline::InputRange& r : run.inputs) {
      pipeline::LineageRecord rec;
      rec.output = run.pipeline;
      rec.output_version = run.output_version;
      rec.run_id = run.id;
      rec.input = r;
      if (run.detail.contains("outputRanges")) {
        for (const json& o : run.detail["outputRanges"]) {
          pipeline::LineageRecord rr = rec;
          rr.output_partition = o.value("partition", 0);
          rr.output_offset_begin = o.value("offsetBegin", int64_t{0});
          rr.output_offset_end = o.value("offsetEnd", int64_t{0});
          lineage.push_back(rr);
        }
        continue;
      }
      lineage.push_back(rec);
    }
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<engine::Connection> conn, p.trusted_db_->Connect());
    Result<pipeline::ColumnLineage> cl =
        pipeline::DeriveColumnLineage(*conn, *product.transform, bound->columns);
    if (cl.ok()) {
      columns = *cl;
      json j = json::object();
      for (const auto& [col, sources] : columns) {
        json list = json::array();
        for (const pipeline::ColumnSource& s : sources) {
          list.push_back({{"alias", s.alias},
                          {"input", bound->alias_to_input.at(s.alias)},
                          {"column", s.column}});
        }
        j[col] = list;
      }
      LOOM_RETURN_IF_ERROR(state->PutColumnLineage(run.pipeline, j));
    }
  }
  json event = pipeline::OpenLineageEvent(
      run.status == pipeline::RunStatus::kSucceeded ? "COMPLETE" : "FAIL", run, run.inputs, output,
      columns, bound ? bound->alias_to_input : std::map<std::string, std::string>{});
  Status emitted = pipeline::EmitOpenLineage(event, JoinPath(p.options_.data_dir, "lineage"),
                                             OpenLineageUrl(p.options_));
  if (!emitted.ok()) run.detail["openLineageError"] = emitted.message();
  if (progress) return state->FinishRunWithProgress(run, lineage, *progress);
  return state->FinishRun(run, lineage);
}

Result<pipeline::Run> Platform::PipelineRunner::Batch(Platform& p, const spec::DataProduct& product,
                                                      const std::string& trigger,
                                                      const Pins* pins) {
  LOOM_ASSIGN_OR_RETURN(pipeline::StateStore * state, p.PipelineState());
  Caller service = ServiceCaller(product.domain);
  Address output{product.domain, product.name, product.transform->output, std::nullopt};
  pipeline::Run run;
  run.run_uuid = NewUuid();
  run.pipeline = pipeline::PortKey(output);
  run.trigger = trigger;
  run.principal = service.principal();
  if (Result<int32_t> failures = state->ConsecutiveFailures(run.pipeline); failures.ok()) {
    run.attempt = *failures + 1;
  }
  LOOM_RETURN_IF_ERROR(state->BeginRun(run));
  Bound bound;
  Status st = Preflight(p, service, product);
  if (st.ok()) {
    Result<Bound> b = BindInputs(p, product, pins);
    st = b.status();
    if (b.ok()) bound = std::move(*b);
  }
  run.inputs = bound.ranges;
  (void)pipeline::EmitOpenLineage(
      pipeline::OpenLineageEvent("START", run, run.inputs, output, {}, bound.alias_to_input),
      JoinPath(p.options_.data_dir, "lineage"), OpenLineageUrl(p.options_));
  if (st.ok()) {
    Result<std::string> sql = pipeline::ComposeSql(*product.transform, bound.inputs, bound.columns);
    st = sql.status();
    if (sql.ok()) {
      Result<table::Manifest> m =
          PublishSelect(p, service, output, *sql, bound.ranges, "pipeline run " + run.run_uuid);
      st = m.status();
      if (m.ok()) {
        run.output_version = m->version.number();
        run.rows = static_cast<int64_t>(m->row_count);
        pipeline::FaultPoint("pipeline-after-publish");
      }
    }
  }
  run.status = st.ok() ? pipeline::RunStatus::kSucceeded : pipeline::RunStatus::kFailed;
  if (!st.ok()) run.error = st.message();
  LOOM_RETURN_IF_ERROR(Finish(p, product, run, &bound, std::nullopt));
  if (!st.ok()) return st.WithPrefix("pipeline " + run.pipeline);
  return run;
}

Result<bool> Platform::PipelineRunner::InputsChanged(Platform& p, const spec::DataProduct& product,
                                                     const pipeline::Run& last) {
  // Every input is looked at: a table input without a version means not ready at all.
  bool changed = false;
  for (const spec::InputPort& in : product.input_ports) {
    Address port{in.address.domain, in.address.product, in.address.port, std::nullopt};
    std::string key = pipeline::PortKey(port);
    Result<std::unique_ptr<PortRef>> ref = p.ResolvePort(port);
    if (!ref.ok()) {
      changed = true;  // the run reports it
      continue;
    }
    if ((*ref)->port->kind == spec::PortKind::kTable) {
      LOOM_ASSIGN_OR_RETURN(table::Table * t, p.GetTable(**ref));
      LOOM_ASSIGN_OR_RETURN(table::Version v, t->CurrentVersion());
      if (!v.valid()) return false;  // not ready: nothing to read yet
      bool same = false;
      for (const pipeline::InputRange& r : last.inputs) {
        same = same || (r.address == key && r.version && *r.version == v.number());
      }
      changed = changed || !same;
      continue;
    }
    LOOM_ASSIGN_OR_RETURN(std::shared_ptr<OpenStream> s, p.GetStream(**ref));
    const log::Log& lg = s->port->stream();
    for (int32_t part = 0; part < lg.partitions(); ++part) {
      LOOM_ASSIGN_OR_RETURN(log::Offset end, lg.EndOffset(part));
      bool same = false;
      for (const pipeline::InputRange& r : last.inputs) {
        same = same || (r.address == key && r.partition && *r.partition == part && r.offset_end &&
                        *r.offset_end == end.value);
      }
      changed = changed || !same;
    }
  }
  return changed;
}

}  // namespace loom::platform
