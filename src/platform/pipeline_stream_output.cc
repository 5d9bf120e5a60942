// A streaming step's output: the result rows become CloudEvents written straight from the
// cells' JSON literals as DuckDB streams them (no JSON objects, no row copies) and go into the
// output port through the same checked ingest path as any producer's events, in requests within
// the ingest limits.

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>

#include "platform/pipeline_runner.h"
#include "platform/worker_pool.h"

namespace loom::platform {
namespace {

constexpr size_t kRequestEvents = 10000;           // ingest::Limits::max_batch_records
constexpr size_t kRequestBytes = size_t{8} << 20;  // half of ingest::Limits::max_batch_bytes

std::string JsonText(const std::string& s) { return nlohmann::json(s).dump(); }

constexpr const char* kTimestampTz = "TIMESTAMP WITH TIME ZONE";  // engine::Column::type
constexpr uint64_t kFnvOffset = 14695981039346656037ULL;

uint64_t Fnv(std::string_view bytes, uint64_t h) {
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  return h;
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out->append(buf, end);
}

// A cell as its JSON literal; a TIMESTAMP WITH TIME ZONE as RFC 3339 text in UTC with
// microseconds ("2026-01-01T10:00:00.000000Z"), the form ingest validates.
void AppendCell(const engine::Chunk& chunk, size_t col, size_t row, bool timestamp,
                std::string* out) {
  if (timestamp) {
    std::optional<int64_t> us = chunk.Int64(col, row);
    if (us) {
      out->push_back('"');
      AppendRfc3339(*us, out);
      out->push_back('"');
      return;
    }
  }
  chunk.AppendJson(col, row, out);
}

}  // namespace

std::string Platform::PipelineRunner::OutputEvents::Id(size_t i) const {
  const Place& at = places[i];
  std::string id = input_key + "/";
  if (at.partition < 0) return id + std::to_string(first_offset) + "/" + std::to_string(i);
  id += std::to_string(at.partition) + "/" + std::to_string(at.offset);
  if (at.n > 0) id += "#" + std::to_string(at.n);
  return id;
}

Result<Platform::PipelineRunner::OutputEvents> Platform::PipelineRunner::ToEvents(
    engine::QueryResult& result, const std::string& input_key, int64_t first_offset,
    const Address& source, const std::string& type, size_t max_rows, bool stop_on_tie,
    const std::vector<std::string>& key_fields, size_t lanes) {
  const std::vector<engine::Column>& columns = result.columns();
  const bool placed =
      columns.size() >= 2 && columns[0].name == "__loom_p" && columns[1].name == "__loom_o";
  int t_col = -1;
  std::vector<size_t> data_cols;
  std::vector<bool> timestamps;     // per data column: written as RFC 3339 text from its micros
  std::vector<std::string> keys;    // "name": per data column
  std::vector<bool> partition_key;  // per data column: one of the output port's key fields
  for (size_t c = placed ? 2 : 0; c < columns.size(); ++c) {
    if (columns[c].name == "__loom_t") {
      t_col = static_cast<int>(c);
      continue;
    }
    data_cols.push_back(c);
    partition_key.push_back(std::find(key_fields.begin(), key_fields.end(), columns[c].name) !=
                            key_fields.end());
    timestamps.push_back(columns[c].type == kTimestampTz);
    keys.push_back(JsonText(columns[c].name) + ":");
  }
  const bool t_micros = t_col >= 0 && columns[static_cast<size_t>(t_col)].type == kTimestampTz;
  const std::string head = R"({"specversion":"1.0","source":)" + JsonText(source.ToString()) +
                           R"(,"type":)" + JsonText(type) + R"(,"id":")";
  // The input port's key, as the inside of a JSON string.
  std::string key_text = JsonText(input_key + "/");
  key_text = key_text.substr(1, key_text.size() - 2);
  OutputEvents out;
  out.input_key = input_key;
  out.first_offset = first_offset;
  lanes = std::max<size_t>(lanes, 1);
  out.lanes.resize(lanes);
  for (std::vector<OutputEvents::Body>& lane : out.lanes) lane.emplace_back();
  std::string body;  // the event being written
  while (true) {
    LOOM_ASSIGN_OR_RETURN(const engine::Chunk* chunk, result.Next());
    if (chunk == nullptr) break;
    if (out.size() + chunk->num_rows() > max_rows) {
      return ResourceExhausted("the step's result has more than " + std::to_string(max_rows) +
                               " rows");
    }
    for (size_t r = 0; r < chunk->num_rows(); ++r) {
      OutputEvents::Place at;
      body.clear();
      body += head;
      body += key_text;
      if (placed) {
        at.partition = static_cast<int32_t>(chunk->Int64(0, r).value_or(-1));
        at.offset = chunk->Int64(1, r).value_or(-1);
        // Rows of one input event are adjacent (ordered by place first): numbered in order.
        if (!out.places.empty() && out.places.back().partition == at.partition &&
            out.places.back().offset == at.offset) {
          if (stop_on_tie) {
            out.tied = true;
            return out;
          }
          at.n = out.places.back().n + 1;
        }
        AppendInt(at.partition, &body);
        body += '/';
        AppendInt(at.offset, &body);
        if (at.n > 0) {
          body += '#';
          AppendInt(at.n, &body);
        }
      } else {
        AppendInt(first_offset, &body);
        body += '/';
        AppendInt(static_cast<int64_t>(out.size()), &body);
      }
      body += '"';
      if (t_col >= 0 && !chunk->IsNull(static_cast<size_t>(t_col), r)) {
        body += R"(,"time":)";
        AppendCell(*chunk, static_cast<size_t>(t_col), r, t_micros, &body);
      }
      body += R"(,"data":{)";
      uint64_t key_hash = kFnvOffset;
      for (size_t k = 0; k < data_cols.size(); ++k) {
        if (k > 0) body += ',';
        body += keys[k];
        size_t value_at = body.size();
        AppendCell(*chunk, data_cols[k], r, timestamps[k], &body);
        if (partition_key[k]) {
          key_hash = Fnv(std::string_view(body).substr(value_at), Fnv("\x1f", key_hash));
        }
      }
      body += "}}\n";
      std::vector<OutputEvents::Body>& lane =
          out.lanes[key_fields.empty() ? out.size() % lanes : key_hash % lanes];
      if (lane.back().events.size() == kRequestEvents ||
          (!lane.back().events.empty() && lane.back().text.size() + body.size() > kRequestBytes)) {
        lane.emplace_back();
      }
      lane.back().text += body;
      lane.back().events.push_back(static_cast<uint32_t>(out.size()));
      out.places.push_back(at);
    }
  }
  for (std::vector<OutputEvents::Body>& lane : out.lanes) {
    if (lane.back().events.empty()) lane.pop_back();
  }
  return out;
}

Result<Platform::PipelineRunner::StepOutput> Platform::PipelineRunner::PublishOutput(
    Platform& p, const Caller& service, const Address& port, const OutputEvents& events) {
  // Each lane on its own thread, its bodies in order; what each gave is merged below.
  struct LaneOutput {
    Status status;
    StepOutput out;
    size_t rejected_at = std::numeric_limits<size_t>::max();  // the first rejected event
  };
  std::vector<LaneOutput> done(events.lanes.size());
  std::vector<std::function<void()>> tasks;
  for (size_t l = 0; l < events.lanes.size(); ++l) {
    if (events.lanes[l].empty()) continue;
    tasks.push_back([&, l] {
      LaneOutput& lane = done[l];
      for (const OutputEvents::Body& body : events.lanes[l]) {
        Result<ingest::IngestResult> result =
            p.IngestEvents(service, port, "application/x-ndjson", body.text, {});
        if (!result.ok()) {
          lane.status = result.status();
          return;
        }
        lane.out.accepted += static_cast<int64_t>(result->accepted);
        lane.out.duplicates += static_cast<int64_t>(result->duplicates);
        lane.out.quarantined += static_cast<int64_t>(result->quarantined);
        for (size_t i = 0; i < result->records.size() && i < body.events.size(); ++i) {
          const ingest::RecordResult& r = result->records[i];
          if (r.outcome == ingest::Outcome::kRejected && body.events[i] < lane.rejected_at) {
            lane.rejected_at = body.events[i];
            lane.out.rejection = "event " + events.Id(body.events[i]) + ": " + r.reason;
          }
          if (r.partition < 0 || r.offset < 0) continue;
          auto [it, fresh] = lane.out.ranges.try_emplace(r.partition, r.offset, r.offset + 1);
          if (!fresh) {
            it->second.first = std::min(it->second.first, r.offset);
            it->second.second = std::max(it->second.second, r.offset + 1);
          }
        }
      }
    });
  }
  p.OutputWorkers().RunAll(tasks);
  StepOutput out;
  size_t rejected_at = std::numeric_limits<size_t>::max();
  for (const LaneOutput& lane : done) {
    LOOM_RETURN_IF_ERROR(lane.status);
    out.accepted += lane.out.accepted;
    out.duplicates += lane.out.duplicates;
    out.quarantined += lane.out.quarantined;
    if (lane.rejected_at < rejected_at) {
      rejected_at = lane.rejected_at;
      out.rejection = lane.out.rejection;
    }
    for (const auto& [part, range] : lane.out.ranges) {
      auto [it, fresh] = out.ranges.try_emplace(part, range);
      if (!fresh) {
        it->second.first = std::min(it->second.first, range.first);
        it->second.second = std::max(it->second.second, range.second);
      }
    }
  }
  return out;
}

}  // namespace loom::platform
