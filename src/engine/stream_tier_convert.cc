// Record ranges of a log partition -> NDJSON staging file -> typed Parquet tier file (DuckDB).

#include <algorithm>
#include <charconv>
#include <cstring>
#include <regex>

#include "core/sealed_file.h"
#include "engine/engine.h"
#include "engine/stream_tier_impl.h"
#include "log/log.h"

namespace loom::engine {
namespace {

constexpr size_t kFlushBytes = 1 << 20;
constexpr int64_t kMaxObjectBytes = 64ll << 20;  // above the log's 32 MiB record limit

void AppendInt(std::string& buf, int64_t v) {
  char tmp[24];
  auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  buf.append(tmp, r.ptr);
}

// A record value must be one JSON object. Checked cheaply here (first and last non-blank
// bytes) so that an error names the record; DuckDB checks the rest.
bool LooksLikeObject(std::string_view v) {
  size_t b = v.find_first_not_of(" \t\r\n");
  size_t e = v.find_last_not_of(" \t\r\n");
  return b != std::string_view::npos && v[b] == '{' && v[e] == '}';
}

// Appends `{"o":<offset>,"t":<µs>,"e":<value>}\n`. A raw line break is legal JSON whitespace
// between tokens (and illegal inside strings anyway), so it becomes a blank to keep one record
// per line.
void AppendLine(std::string& buf, const log::RecordView& r) {
  buf.append("{\"o\":");
  AppendInt(buf, r.offset.value);
  buf.append(",\"t\":");
  AppendInt(buf, r.timestamp);
  buf.append(",\"e\":");
  size_t at = buf.size();
  buf.append(r.value);
  if (std::memchr(r.value.data(), '\n', r.value.size()) != nullptr ||
      std::memchr(r.value.data(), '\r', r.value.size()) != nullptr) {
    for (size_t i = at; i < buf.size(); ++i) {
      if (buf[i] == '\n' || buf[i] == '\r') buf[i] = ' ';
    }
  }
  buf.append("}\n");
}

// The SELECT from the staging file that yields the stream columns, in order.
std::string StagingSelect(int32_t partition, const std::vector<RelationColumn>& data_columns,
                          const std::string& staging) {
  std::string data_type = "STRUCT(";
  std::string data_select;
  for (size_t i = 0; i < data_columns.size(); ++i) {
    const RelationColumn& c = data_columns[i];
    data_type += (i ? ", " : "") + QuoteIdent(c.name) + " " + c.type;
    data_select += ", e.data." + QuoteIdent(c.name) + " AS " + QuoteIdent(c.name);
  }
  data_type += ")";
  const std::string envelope =
      "STRUCT(\"id\" VARCHAR, \"source\" VARCHAR, \"type\" VARCHAR, "
      "\"time\" VARCHAR, \"data\" " +
      data_type + ")";
  return "SELECT e.id AS ce_id, e.source AS ce_source, e.type AS ce_type, "
         "coalesce(TRY_CAST(e.time AS TIMESTAMPTZ), timezone('UTC', make_timestamp(t))) "
         "AS ce_time, CAST(" +
         std::to_string(partition) + " AS INTEGER) AS ce_partition, o AS ce_offset" + data_select +
         " FROM read_json(" + QuoteString(staging) +
         ", format = 'newline_delimited', auto_detect = false, maximum_object_size = " +
         std::to_string(kMaxObjectBytes) +
         ", columns = {o: 'BIGINT', t: 'BIGINT', e: " + QuoteString(envelope) + "})";
}

// DuckDB names the staging file and a 1-based line; say the partition and offset instead.
Status ConversionError(const Status& s, int32_t partition, int64_t first, int64_t end,
                       const std::string& staging) {
  std::string m = s.message();
  for (size_t p = m.find(staging); p != std::string::npos; p = m.find(staging)) {
    m.replace(p, staging.size(), "<records>");
  }
  std::string where = "partition " + std::to_string(partition) + ", offsets [" +
                      std::to_string(first) + ", " + std::to_string(end) + ")";
  std::smatch match;
  static const std::regex kLine(R"(line (\d+))");
  if (std::regex_search(m, match, kLine)) {
    int64_t line = std::stoll(match[1].str());
    where =
        "partition " + std::to_string(partition) + ", offset " + std::to_string(first + line - 1);
  }
  return Status(s.code(), "stream tier: cannot convert the record at " + where +
                              " (not a CloudEvent matching the schema): " + m);
}

// COPY's result is one row with the number of rows written.
Result<int64_t> CopyCount(Connection& con, const std::string& sql) {
  LOOM_ASSIGN_OR_RETURN(Rows rows, con.QueryRows(sql, 10));
  if (rows.size() != 1 || rows.columns.size() != 1 || !rows.text[0][0]) {
    return Internal("stream tier: COPY returned no row count");
  }
  return std::stoll(*rows.text[0][0]);
}

Result<int64_t> SyncAndSize(FileSystem& fs, const std::string& path) {
  {
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f,
                          fs.NewWritableFile(path, OpenMode::kAppend));
    LOOM_RETURN_IF_ERROR(f->Sync());
    LOOM_RETURN_IF_ERROR(f->Close());
  }
  LOOM_ASSIGN_OR_RETURN(uint64_t size, fs.FileSize(path));
  return static_cast<int64_t>(size);
}

// Where staging bytes go: a file through the file system, or (encrypted ports) memory.
class StagingSink {
 public:
  StagingSink(std::unique_ptr<WritableFile> file, MemFile* mem)
      : file_(std::move(file)), mem_(mem) {}
  Status Append(std::string_view bytes) {
    if (file_ != nullptr) return file_->Append(std::span<const char>(bytes.data(), bytes.size()));
    mem_bytes_.append(bytes);
    return Status::Ok();
  }
  Status Close() {
    if (file_ != nullptr) return file_->Close();
    Status s = mem_->Write(mem_bytes_);
    std::fill(mem_bytes_.begin(), mem_bytes_.end(), '\0');
    return s;
  }

 private:
  std::unique_ptr<WritableFile> file_;
  MemFile* mem_;
  std::string mem_bytes_;
};

Status WriteStaging(FileSystem& fs, const log::Log& log, int32_t partition, int64_t first,
                    int64_t end, const std::string& staging, MemFile* mem) {
  std::unique_ptr<WritableFile> file;
  if (mem == nullptr) {
    LOOM_ASSIGN_OR_RETURN(file, fs.NewWritableFile(staging, OpenMode::kTruncate));
  }
  StagingSink sink(std::move(file), mem);
  StagingSink* f = &sink;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<log::Reader> reader,
                        log.NewReader(partition, log::Offset(first), log::Offset(end)));
  std::string buf;
  buf.reserve(kFlushBytes + (64 << 10));
  log::RecordView r;
  int64_t next = first;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
    if (!more) break;
    if (r.offset.value != next) {
      return DataLoss("stream tier: partition " + std::to_string(partition) + " jumped from " +
                      std::to_string(next) + " to offset " + std::to_string(r.offset.value));
    }
    if (!LooksLikeObject(r.value)) {
      return InvalidArgument("stream tier: the record at partition " + std::to_string(partition) +
                             ", offset " + std::to_string(next) + " is not a JSON object");
    }
    AppendLine(buf, r);
    ++next;
    if (buf.size() >= kFlushBytes) {
      LOOM_RETURN_IF_ERROR(f->Append(buf));
      buf.clear();
    }
  }
  if (next != end) {
    return DataLoss("stream tier: partition " + std::to_string(partition) + " ended at offset " +
                    std::to_string(next) + ", expected " + std::to_string(end));
  }
  if (!buf.empty()) LOOM_RETURN_IF_ERROR(f->Append(buf));
  // No fsync: the staging file is read back at once and never needed after a crash.
  return f->Close();
}

}  // namespace

std::string SelectFromStaging(int32_t partition, const std::vector<RelationColumn>& data_columns,
                              const std::string& staging) {
  return StagingSelect(partition, data_columns, staging);
}

Status SliceStream(const log::Log& log, const spec::Schema& schema, const std::string& sql_name,
                   const std::vector<SliceRange>& ranges, StreamSlice* slice) {
  bool same = slice->files.size() == ranges.size() && slice->relation.sql_name == sql_name;
  for (size_t i = 0; same && i < ranges.size(); ++i) {
    same = slice->relation.record_partitions[i] == ranges[i].partition;
  }
  if (!same) {
    *slice = StreamSlice{};
    slice->relation.sql_name = sql_name;
    for (const SliceRange& r : ranges) {
      LOOM_ASSIGN_OR_RETURN(std::unique_ptr<MemFile> mem, MemFile::Create("loom-stream-slice"));
      slice->relation.files.push_back(mem->path());
      slice->relation.record_partitions.push_back(r.partition);
      slice->files.push_back(std::move(mem));
    }
  }
  LOOM_ASSIGN_OR_RETURN(slice->relation.columns, StreamColumns(schema));
  for (size_t i = 0; i < ranges.size(); ++i) {
    const SliceRange& r = ranges[i];
    LOOM_RETURN_IF_ERROR(WriteStaging(*FileSystem::Default(), log, r.partition, r.first,
                                      std::max(r.first, r.end), "", slice->files[i].get()));
  }
  return Status::Ok();
}

std::string TierCrypto::Aad(const std::string& path) const {
  return SealedFileAad(context, path.substr(path.rfind('/') + 1));
}

Result<int64_t> ConvertRange(Connection& con, FileSystem& fs, const log::Log& log,
                             int32_t partition, int64_t first, int64_t end,
                             const std::vector<RelationColumn>& data_columns,
                             const std::string& staging, const std::string& out,
                             const TierCrypto& crypto) {
  std::unique_ptr<MemFile> staging_mem;
  std::unique_ptr<MemFile> out_mem;
  if (crypto.cipher != nullptr) {
    LOOM_ASSIGN_OR_RETURN(staging_mem, MemFile::Create("loom-tier-staging"));
    LOOM_ASSIGN_OR_RETURN(out_mem, MemFile::Create("loom-tier"));
  }
  const std::string& staging_path = staging_mem ? staging_mem->path() : staging;
  const std::string& out_path = out_mem ? out_mem->path() : out;
  Status s = WriteStaging(fs, log, partition, first, end, staging, staging_mem.get());
  if (s.ok()) {
    Result<int64_t> n = CopyCount(
        con, "COPY (" + StagingSelect(partition, data_columns, staging_path) + ") TO " +
                 QuoteString(out_path) + " (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)");
    if (!n.ok()) {
      s = ConversionError(n.status(), partition, first, end, staging_path);
    } else if (*n != end - first) {
      s = DataLoss("stream tier: partition " + std::to_string(partition) + " converted " +
                   std::to_string(*n) + " rows for " + std::to_string(end - first) + " records");
    }
  }
  Status removed = staging_mem ? Status::Ok() : fs.DeleteFile(staging);
  LOOM_RETURN_IF_ERROR(s);
  LOOM_RETURN_IF_ERROR(removed);
  if (out_mem) {
    LOOM_RETURN_IF_ERROR(SealFile(fs, *crypto.cipher, *out_mem, out, crypto.Aad(out)).status());
  }
  return SyncAndSize(fs, out);
}

Result<int64_t> MergeFiles(Connection& con, FileSystem& fs, const std::vector<std::string>& in,
                           int64_t rows, const std::string& out, const TierCrypto& crypto) {
  std::vector<std::unique_ptr<MemFile>> plain;
  std::unique_ptr<MemFile> out_mem;
  std::string list;
  for (size_t i = 0; i < in.size(); ++i) {
    std::string path = in[i];
    if (crypto.cipher != nullptr) {
      const std::string name = path.substr(path.rfind('/') + 1);
      LOOM_ASSIGN_OR_RETURN(std::unique_ptr<MemFile> m,
                            OpenSealedFile(fs, *crypto.cipher, path, crypto.Aad(path), name));
      path = m->path();
      plain.push_back(std::move(m));
    }
    list += (i ? ", " : "") + QuoteString(path);
  }
  if (crypto.cipher != nullptr) {
    LOOM_ASSIGN_OR_RETURN(out_mem, MemFile::Create("loom-tier"));
  }
  // read_parquet keeps file order and row order (preserve_insertion_order), so the merged file
  // stays in offset order.
  LOOM_ASSIGN_OR_RETURN(
      int64_t n, CopyCount(con, "COPY (SELECT * FROM read_parquet([" + list + "])) TO " +
                                    QuoteString(out_mem ? out_mem->path() : out) +
                                    " (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)"));
  if (n != rows) {
    return DataLoss("stream tier: merged " + std::to_string(n) + " rows, expected " +
                    std::to_string(rows));
  }
  if (out_mem) {
    LOOM_RETURN_IF_ERROR(SealFile(fs, *crypto.cipher, *out_mem, out, crypto.Aad(out)).status());
  }
  return SyncAndSize(fs, out);
}

}  // namespace loom::engine
