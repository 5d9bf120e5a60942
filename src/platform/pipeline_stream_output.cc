// A streaming step's output: the result rows become CloudEvents written straight from the
// cells' JSON literals (no JSON objects per row) and go into the output port through the same
// checked ingest path as any producer's events, in requests within the ingest limits.

#include <unordered_map>

#include "platform/pipeline_runner.h"

namespace loom::platform {
namespace {

constexpr size_t kRequestEvents = 10000;           // ingest::Limits::max_batch_records
constexpr size_t kRequestBytes = size_t{8} << 20;  // half of ingest::Limits::max_batch_bytes

std::string JsonText(const std::string& s) { return nlohmann::json(s).dump(); }

}  // namespace

Platform::PipelineRunner::OutputEvents Platform::PipelineRunner::ToEvents(
    const engine::Rows& rows, const std::string& input_key, int64_t first_offset,
    const Address& source, const std::string& type) {
  int p_col = -1, o_col = -1, t_col = -1;
  std::vector<size_t> data_cols;
  for (size_t c = 0; c < rows.columns.size(); ++c) {
    const std::string& name = rows.columns[c].name;
    if (name == "__loom_p") {
      p_col = static_cast<int>(c);
    } else if (name == "__loom_o") {
      o_col = static_cast<int>(c);
    } else if (name == "__loom_t") {
      t_col = static_cast<int>(c);
    } else {
      data_cols.push_back(c);
    }
  }
  std::vector<std::string> keys;  // "name": per data column
  for (size_t c : data_cols) keys.push_back(JsonText(rows.columns[c].name) + ":");
  const std::string head = R"({"specversion":"1.0","source":)" + JsonText(source.ToString()) +
                           R"(,"type":)" + JsonText(type) + R"(,"id":)";
  // The input port's key, as the inside of a JSON string.
  std::string key_text = JsonText(input_key);
  key_text = key_text.substr(1, key_text.size() - 2);
  OutputEvents out;
  out.ids.reserve(rows.size());
  std::unordered_map<std::string, int> seen;
  std::string body;
  size_t in_body = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string id = input_key + "/";
    if (p_col >= 0 && o_col >= 0) {
      id += rows.Get(r, static_cast<size_t>(p_col)) + "/" + rows.Get(r, static_cast<size_t>(o_col));
    } else {
      id += std::to_string(first_offset) + "/" + std::to_string(r);
    }
    // Several result rows of one input event: numbered in result order.
    int n = seen[id]++;
    if (n > 0) id += "#" + std::to_string(n);
    body += head;
    body += JsonText(id);
    if (t_col >= 0 && rows.text[r][static_cast<size_t>(t_col)]) {
      body += R"(,"time":)";
      body += rows.json[r][static_cast<size_t>(t_col)];
    }
    body += R"(,"data":{)";
    for (size_t k = 0; k < data_cols.size(); ++k) {
      if (k > 0) body += ',';
      body += keys[k];
      body += rows.json[r][data_cols[k]];
    }
    body += "}}\n";
    out.ids.push_back(std::move(id));
    if (++in_body == kRequestEvents || body.size() >= kRequestBytes) {
      out.bodies.push_back(std::move(body));
      body.clear();
      in_body = 0;
    }
  }
  if (!body.empty()) out.bodies.push_back(std::move(body));
  return out;
}

Result<Platform::PipelineRunner::StepOutput> Platform::PipelineRunner::PublishOutput(
    Platform& p, const Caller& service, const Address& port, const OutputEvents& events) {
  StepOutput out;
  size_t index = 0;  // of the request's first event in `events.ids`
  for (const std::string& body : events.bodies) {
    LOOM_ASSIGN_OR_RETURN(ingest::IngestResult result,
                          p.IngestEvents(service, port, "application/x-ndjson", body, {}));
    out.accepted += static_cast<int64_t>(result.accepted);
    out.duplicates += static_cast<int64_t>(result.duplicates);
    out.quarantined += static_cast<int64_t>(result.quarantined);
    for (size_t i = 0; i < result.records.size(); ++i) {
      const ingest::RecordResult& r = result.records[i];
      if (r.outcome == ingest::Outcome::kRejected && out.rejection.empty()) {
        out.rejection = "event " + events.ids[index + i] + ": " + r.reason;
      }
      if (r.partition < 0 || r.offset < 0) continue;
      auto [it, fresh] = out.ranges.try_emplace(r.partition, r.offset, r.offset + 1);
      if (!fresh) {
        it->second.first = std::min(it->second.first, r.offset);
        it->second.second = std::max(it->second.second, r.offset + 1);
      }
    }
    index += result.records.size();
  }
  return out;
}

}  // namespace loom::platform
