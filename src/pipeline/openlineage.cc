// OpenLineage run events (https://openlineage.io/spec/2-0-2/OpenLineage.json), to files or HTTP.

#include <httplib.h>

#include <csignal>
#include <cstdlib>

#include "pipeline/pipeline.h"

namespace loom::pipeline {
namespace {

using nlohmann::json;

constexpr const char* kProducer = "https://github.com/loom-mesh/loom";
constexpr const char* kSchemaUrl =
    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
constexpr const char* kColumnLineageSchema =
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json";

json Dataset(const Address& port) {
  return {{"namespace", "loom://" + port.domain}, {"name", port.product + "/" + port.port}};
}

}  // namespace

void FaultPoint(std::string_view name) {
  const char* fault = std::getenv("LOOM_FAULT");
  if (fault != nullptr && name == fault) std::raise(SIGKILL);
}

json OpenLineageEvent(const std::string& event_type, const Run& run,
                      const std::vector<InputRange>& inputs, const Address& output,
                      const ColumnLineage& columns,
                      const std::map<std::string, std::string>& alias_to_input) {
  json ins = json::array();
  std::set<std::string> seen;
  for (const InputRange& in : inputs) {
    if (!seen.insert(in.address).second) continue;
    Result<Address> a = Address::Parse(in.address);
    if (!a.ok()) continue;
    json d = Dataset(*a);
    json ranges = json::array();
    for (const InputRange& r : inputs) {
      if (r.address == in.address) ranges.push_back(ToJson(r));
    }
    d["inputFacets"] = {{"loom_inputRange",
                         {{"_producer", kProducer},
                          {"_schemaURL", std::string(kProducer) + "/docs/pipelines.md"},
                          {"ranges", ranges}}}};
    ins.push_back(std::move(d));
  }
  json out = Dataset(output);
  json fields = json::object();
  for (const auto& [column, sources] : columns) {
    json input_fields = json::array();
    for (const ColumnSource& s : sources) {
      auto it = alias_to_input.find(s.alias);
      if (it == alias_to_input.end()) continue;
      Result<Address> a = Address::Parse(it->second);
      if (!a.ok()) continue;
      json f = Dataset(*a);
      f["field"] = s.column;
      input_fields.push_back(std::move(f));
    }
    fields[column] = {{"inputFields", input_fields}};
  }
  out["facets"] = {
      {"columnLineage",
       {{"_producer", kProducer}, {"_schemaURL", kColumnLineageSchema}, {"fields", fields}}}};
  if (run.output_version) {
    out["outputFacets"] = {{"loom_outputVersion",
                            {{"_producer", kProducer},
                             {"_schemaURL", std::string(kProducer) + "/docs/pipelines.md"},
                             {"version", *run.output_version},
                             {"rows", run.rows}}}};
  }
  json run_facets = json::object();
  if (event_type == "FAIL" && !run.error.empty()) {
    run_facets["errorMessage"] = {
        {"_producer", kProducer},
        {"_schemaURL", "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json"},
        {"message", run.error},
        {"programmingLanguage", "SQL"}};
  }
  TimestampMicros t = event_type == "START" ? run.started_at : run.finished_at;
  return {{"eventType", event_type},
          {"eventTime", FormatRfc3339(t)},
          {"producer", kProducer},
          {"schemaURL", kSchemaUrl},
          {"run", {{"runId", run.run_uuid}, {"facets", run_facets}}},
          {"job", {{"namespace", "loom://" + output.domain}, {"name", output.product}}},
          {"inputs", ins},
          {"outputs", json::array({out})}};
}

Status EmitOpenLineage(const json& event, const std::string& dir, const std::string& endpoint) {
  std::string body = event.dump();
  if (!endpoint.empty()) {
    if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
      return InvalidArgument("OpenLineage endpoint '" + endpoint +
                             "': expected http://HOST:PORT/PATH");
    }
    size_t slash = endpoint.find('/', endpoint.find("//") + 2);
    std::string base = endpoint.substr(0, slash);
    std::string path = slash == std::string::npos ? "/api/v1/lineage" : endpoint.substr(slash);
    httplib::Client client(base);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(5, 0);
    httplib::Result res = client.Post(path, body, "application/json");
    if (!res) {
      return Unavailable("OpenLineage endpoint " + endpoint + ": " +
                         httplib::to_string(res.error()));
    }
    if (res->status < 200 || res->status >= 300) {
      return Unavailable("OpenLineage endpoint " + endpoint + " answered " +
                         std::to_string(res->status));
    }
    return Status::Ok();
  }
  FileSystem& fs = *FileSystem::Default();
  LOOM_RETURN_IF_ERROR(fs.CreateDirs(dir));
  std::string name = event["run"]["runId"].get<std::string>() + "-" +
                     event["eventType"].get<std::string>() + ".json";
  return WriteFileAtomically(fs, JoinPath(dir, name), body);
}

}  // namespace loom::pipeline
