// The tier manifest (JSON), tier file names, the stream columns and the tier lock.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine/stream_tier_impl.h"
#include "spec/spec.h"

namespace loom::engine {

Result<std::vector<RelationColumn>> StreamColumns(const spec::Schema& schema) {
  std::vector<RelationColumn> cols = {
      {"ce_id", "VARCHAR", ""},       {"ce_source", "VARCHAR", ""},    {"ce_type", "VARCHAR", ""},
      {"ce_time", "TIMESTAMPTZ", ""}, {"ce_partition", "INTEGER", ""}, {"ce_offset", "BIGINT", ""},
  };
  if (schema.fields.empty()) return InvalidArgument("stream schema has no fields");
  std::set<std::string> names;
  for (const RelationColumn& c : cols) names.insert(c.name);
  for (size_t i = 0; i < schema.fields.size(); ++i) {
    const spec::Field& f = schema.fields[i];
    if (f.name.empty()) {
      return InvalidArgument("stream schema field " + std::to_string(i) + " has no name");
    }
    if (!names.insert(f.name).second) {
      return InvalidArgument("stream schema field '" + f.name +
                             (f.name.starts_with("ce_") ? "' clashes with a CloudEvents column"
                                                        : "' is listed twice"));
    }
    cols.push_back({f.name, f.type.SqlType(), ""});
  }
  return cols;
}

std::string SchemaSignature(const std::vector<RelationColumn>& columns) {
  std::string s;
  for (const RelationColumn& c : columns) s += c.name + " " + c.type + "\n";
  return s;
}

std::string TierFileName(int32_t partition, int64_t first, int64_t end, int64_t generation) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "p%05d-%020lld-%020lld-g%012lld.parquet", partition,
                static_cast<long long>(first), static_cast<long long>(end),
                static_cast<long long>(generation));
  return buf;
}

std::string ManifestToJson(const TierManifest& m) {
  nlohmann::json files = nlohmann::json::array();
  for (const TierEntry& f : m.files) {
    files.push_back({{"file", f.name},
                     {"partition", f.partition},
                     {"first", f.first},
                     {"end", f.end},
                     {"bytes", f.bytes}});
  }
  nlohmann::json obsolete = nlohmann::json::array();
  for (const ObsoleteEntry& o : m.obsolete) {
    obsolete.push_back({{"file", o.name}, {"since", o.since}});
  }
  nlohmann::json j = {{"format", "loom-stream-tier"},
                      {"version", kTierFormatVersion},
                      {"generation", m.generation},
                      {"partitions", m.partitions},
                      {"schema", m.schema},
                      {"ends", m.ends},
                      {"files", files},
                      {"obsolete", obsolete}};
  if (m.encrypted) j["encrypted"] = true;
  return j.dump(1) + "\n";
}

Result<TierManifest> ParseManifest(std::string_view text, const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&path](const std::string& why) {
    return DataLoss("stream tier manifest '" + path + "': " + why);
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (j.value("format", "") != "loom-stream-tier") return bad("format is not loom-stream-tier");
  if (!j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<int>() != kTierFormatVersion) {
    return bad("unknown version");
  }
  TierManifest m;
  try {
    m.generation = j.at("generation").get<int64_t>();
    m.partitions = j.at("partitions").get<int32_t>();
    m.schema = j.at("schema").get<std::string>();
    m.ends = j.at("ends").get<std::vector<int64_t>>();
    m.encrypted = j.value("encrypted", false);
    if (m.partitions < 0 || m.ends.size() != static_cast<size_t>(m.partitions)) {
      return bad("'ends' does not have one offset per partition");
    }
    const nlohmann::json& files = j.at("files");
    for (size_t i = 0; i < files.size(); ++i) {
      const nlohmann::json& f = files.at(i);
      TierEntry e{f.at("file").get<std::string>(), f.at("partition").get<int32_t>(),
                  f.at("first").get<int64_t>(), f.at("end").get<int64_t>(),
                  f.at("bytes").get<int64_t>()};
      if (e.name.empty() || e.name.find('/') != std::string::npos || e.first >= e.end ||
          e.partition < 0 || e.partition >= m.partitions || e.end > m.ends[e.partition]) {
        return bad("files[" + std::to_string(i) + "] is not a valid entry");
      }
      if (!m.files.empty() &&
          (m.files.back().partition > e.partition ||
           (m.files.back().partition == e.partition && m.files.back().end > e.first))) {
        return bad("files[" + std::to_string(i) + "] is out of order or overlaps");
      }
      m.files.push_back(std::move(e));
    }
    for (const nlohmann::json& o : j.at("obsolete")) {
      ObsoleteEntry e{o.at("file").get<std::string>(), o.at("since").get<int64_t>()};
      if (e.name.empty() || e.name.find('/') != std::string::npos) return bad("bad obsolete file");
      m.obsolete.push_back(std::move(e));
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return m;
}

Result<std::unique_ptr<TierLock>> TierLock::Acquire(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("open '" + path + "': " + std::strerror(errno));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return Internal("flock '" + path + "': " + std::strerror(err));
  }
  return std::unique_ptr<TierLock>(new TierLock(fd));
}

TierLock::~TierLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace loom::engine
