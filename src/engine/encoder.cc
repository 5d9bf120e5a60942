// Result encoders: text table, JSON, NDJSON, CSV. Each writes chunk by chunk; the text table
// keeps only its first `sample_rows` rows to size its columns.

#include <algorithm>

#include "engine/engine.h"

namespace loom::engine {
namespace {

constexpr size_t kFlushBytes = 1 << 16;

// Buffers output and hands it to the sink in large pieces.
class Out {
 public:
  explicit Out(Sink& sink) : sink_(sink) {}
  std::string& buf() { return buf_; }
  Status MaybeFlush() { return buf_.size() >= kFlushBytes ? Flush() : Status::Ok(); }
  Status Flush() {
    if (buf_.empty()) return Status::Ok();
    bytes_ += buf_.size();
    Status s = sink_.Write(buf_);
    buf_.clear();
    return s;
  }
  uint64_t bytes() const { return bytes_ + buf_.size(); }

 private:
  Sink& sink_;
  std::string buf_;
  uint64_t bytes_ = 0;
};

void AppendJsonKey(std::string_view s, std::string* out) {
  // Column names are encoded like any JSON string.
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out->append(b);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->append("\":");
}

Result<EncodeStats> EncodeJson(QueryResult& result, bool ndjson, Sink& sink) {
  Out out(sink);
  const auto& cols = result.columns();
  std::vector<std::string> keys;
  for (const auto& c : cols) {
    std::string k;
    AppendJsonKey(c.name, &k);
    keys.push_back(std::move(k));
  }
  if (!ndjson) out.buf().push_back('[');
  bool first = true;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(const Chunk* chunk, result.Next());
    if (chunk == nullptr) break;
    for (size_t r = 0; r < chunk->num_rows(); ++r) {
      std::string& b = out.buf();
      if (!ndjson && !first) b.push_back(',');
      first = false;
      b.push_back('{');
      for (size_t c = 0; c < cols.size(); ++c) {
        if (c > 0) b.push_back(',');
        b.append(keys[c]);
        chunk->AppendJson(c, r, &b);
      }
      b.push_back('}');
      if (ndjson) b.push_back('\n');
    }
    LOOM_RETURN_IF_ERROR(out.MaybeFlush());
  }
  if (!ndjson) out.buf().append("]\n");
  LOOM_RETURN_IF_ERROR(out.Flush());
  return EncodeStats{result.rows(), out.bytes()};
}

void AppendCsvField(std::string_view v, std::string* out) {
  bool quote = v.find_first_of(",\"\r\n") != std::string_view::npos || v.empty() ||
               v.front() == ' ' || v.back() == ' ';
  if (!quote) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// NULL is an empty unquoted field; an empty string is "" (so the two stay apart).
Result<EncodeStats> EncodeCsv(QueryResult& result, const EncodeOptions& options, Sink& sink) {
  Out out(sink);
  const auto& cols = result.columns();
  if (options.csv_header) {
    for (size_t c = 0; c < cols.size(); ++c) {
      if (c > 0) out.buf().push_back(',');
      AppendCsvField(cols[c].name, &out.buf());
    }
    out.buf().append("\r\n");
  }
  std::string cell;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(const Chunk* chunk, result.Next());
    if (chunk == nullptr) break;
    for (size_t r = 0; r < chunk->num_rows(); ++r) {
      for (size_t c = 0; c < cols.size(); ++c) {
        if (c > 0) out.buf().push_back(',');
        if (chunk->IsNull(c, r)) continue;
        cell.clear();
        chunk->AppendText(c, r, &cell);
        AppendCsvField(cell, &out.buf());
      }
      out.buf().append("\r\n");
    }
    LOOM_RETURN_IF_ERROR(out.MaybeFlush());
  }
  LOOM_RETURN_IF_ERROR(out.Flush());
  return EncodeStats{result.rows(), out.bytes()};
}

// Code points in a UTF-8 string (display width for the table; wide scripts count one each).
size_t Width(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Control characters shown escaped, then cut to `max` code points with a trailing "…".
std::string Fit(std::string_view s, size_t max) {
  std::string e;
  for (char c : s) {
    if (c == '\n') {
      e += "\\n";
    } else if (c == '\r') {
      e += "\\r";
    } else if (c == '\t') {
      e += "\\t";
    } else {
      e.push_back(c);
    }
  }
  if (Width(e) <= max) return e;
  std::string cut;
  size_t n = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    bool start = (static_cast<unsigned char>(e[i]) & 0xC0) != 0x80;
    if (start && ++n > max - 1) break;
    cut.push_back(e[i]);
  }
  return cut + "…";
}

bool RightAligned(const Column& c) {
  static const std::vector<std::string> kNumeric = {"TINYINT", "SMALLINT", "INTEGER",   "BIGINT",
                                                    "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                                                    "UBIGINT", "UHUGEINT", "FLOAT",     "DOUBLE"};
  return c.type.starts_with("DECIMAL") ||
         std::find(kNumeric.begin(), kNumeric.end(), c.type) != kNumeric.end();
}

void Pad(std::string_view v, size_t width, bool right, std::string* out) {
  size_t w = Width(v);
  if (right) out->append(width - w, ' ');
  out->append(v);
  if (!right) out->append(width - w, ' ');
}

Result<EncodeStats> EncodeTable(QueryResult& result, const EncodeOptions& options, Sink& sink) {
  Out out(sink);
  const auto& cols = result.columns();
  size_t max = std::max<size_t>(options.max_width, 2);
  std::vector<size_t> widths;
  for (const auto& c : cols) widths.push_back(Width(Fit(c.name, max)));
  // Read a bounded sample to size the columns; later rows are cut to those widths.
  std::vector<std::vector<std::string>> sample;
  std::string cell;
  auto render = [&](const Chunk& chunk, size_t r) {
    std::vector<std::string> row;
    for (size_t c = 0; c < cols.size(); ++c) {
      cell.clear();
      chunk.AppendText(c, r, &cell);
      row.push_back(Fit(cell, max));
    }
    return row;
  };
  auto line = [&](const std::vector<std::string>& row) {
    std::string& b = out.buf();
    for (size_t c = 0; c < cols.size(); ++c) {
      b.append(c == 0 ? " " : " | ");
      std::string v = Width(row[c]) > widths[c] ? Fit(row[c], widths[c]) : row[c];
      Pad(v, widths[c], RightAligned(cols[c]), &b);
    }
    b.append(" \n");
  };
  const Chunk* chunk = nullptr;
  size_t next_row = 0;
  while (sample.size() < options.sample_rows) {
    LOOM_ASSIGN_OR_RETURN(chunk, result.Next());
    if (chunk == nullptr) break;
    for (next_row = 0; next_row < chunk->num_rows() && sample.size() < options.sample_rows;
         ++next_row) {
      sample.push_back(render(*chunk, next_row));
      for (size_t c = 0; c < cols.size(); ++c) {
        widths[c] = std::max(widths[c], Width(sample.back()[c]));
      }
    }
  }
  std::vector<std::string> header;
  for (const auto& c : cols) header.push_back(Fit(c.name, max));
  for (size_t c = 0; c < cols.size(); ++c) {
    out.buf().append(c == 0 ? " " : " | ");
    Pad(header[c], widths[c], false, &out.buf());
  }
  out.buf().append(" \n");
  for (size_t c = 0; c < cols.size(); ++c) {
    out.buf().append(c == 0 ? "-" : "-+-");
    out.buf().append(widths[c], '-');
  }
  out.buf().append("-\n");
  for (const auto& row : sample) line(row);
  sample.clear();
  while (chunk != nullptr) {
    for (; next_row < chunk->num_rows(); ++next_row) line(render(*chunk, next_row));
    LOOM_RETURN_IF_ERROR(out.MaybeFlush());
    LOOM_ASSIGN_OR_RETURN(chunk, result.Next());
    next_row = 0;
  }
  uint64_t n = result.rows();
  out.buf().append("(" + std::to_string(n) + (n == 1 ? " row)\n" : " rows)\n"));
  LOOM_RETURN_IF_ERROR(out.Flush());
  return EncodeStats{n, out.bytes()};
}

}  // namespace

Result<Format> ParseFormat(std::string_view name) {
  if (name == "table") return Format::kTable;
  if (name == "json") return Format::kJson;
  if (name == "ndjson") return Format::kNdjson;
  if (name == "csv") return Format::kCsv;
  if (name == "parquet") return Format::kParquet;
  return InvalidArgument("unknown format '" + std::string(name) +
                         "' (table, json, ndjson, csv, parquet)");
}

Result<EncodeStats> Encode(QueryResult& result, Format format, Sink& sink,
                           const EncodeOptions& options) {
  switch (format) {
    case Format::kTable:
      return EncodeTable(result, options, sink);
    case Format::kJson:
      return EncodeJson(result, false, sink);
    case Format::kNdjson:
      return EncodeJson(result, true, sink);
    case Format::kCsv:
      return EncodeCsv(result, options, sink);
    case Format::kParquet:
      break;
  }
  return InvalidArgument("Parquet output needs a session: use Session::Export");
}

}  // namespace loom::engine
