// The answer of a publish as JSON text, written directly (the server's path): a batch of a
// thousand events would otherwise build, sort and serialise a JSON object per record.

#include <charconv>

#include "platform/platform.h"

namespace loom::platform {

namespace {

// As nlohmann::json::dump escapes a string (ensure_ascii off): the bytes as they are, but for
// the quote, the backslash and the control characters.
void AppendEscaped(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // bytes of s copied as they are, pending
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.substr(run));
  out->push_back('"');
}

template <typename Int>
void AppendInt(Int v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes hold any 64-bit integer
  out->append(buf, static_cast<size_t>(end - buf));
}

}  // namespace

std::string IngestAnswerText(const Address& port, const ingest::IngestResult& result) {
  // nlohmann::json objects keep their keys sorted: the same order here, so that both texts match.
  std::string out;
  out.reserve(160 + result.records.size() * 64);
  out.append("{\"accepted\":");
  AppendInt(result.accepted, &out);
  out.append(",\"address\":");
  AppendEscaped(Address{port.domain, port.product, port.port, {}}.ToString(), &out);
  out.append(",\"duplicates\":");
  AppendInt(result.duplicates, &out);
  out.append(",\"quarantined\":");
  AppendInt(result.quarantined, &out);
  out.append(",\"records\":[");
  for (size_t i = 0; i < result.records.size(); ++i) {
    const ingest::RecordResult& r = result.records[i];
    if (i > 0) out.push_back(',');
    out.append("{\"index\":");
    AppendInt(i, &out);
    if (r.offset >= 0) {
      out.append(",\"offset\":");
      AppendInt(r.offset, &out);
    }
    out.append(",\"outcome\":\"");
    out.append(ingest::ToString(r.outcome));  // plain words, nothing to escape
    out.push_back('"');
    if (r.partition >= 0) {
      out.append(",\"partition\":");
      AppendInt(r.partition, &out);
    }
    if (!r.reason.empty()) {
      out.append(",\"reason\":");
      AppendEscaped(r.reason, &out);
    }
    out.push_back('}');
  }
  out.append("],\"rejected\":");
  AppendInt(result.rejected, &out);
  out.push_back('}');
  return out;
}

Result<std::string> Platform::PublishEventsText(
    const Caller& caller, const Address& port, std::string_view content_type, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  LOOM_ASSIGN_OR_RETURN(ingest::IngestResult result,
                        IngestEvents(caller, port, content_type, body, headers));
  return IngestAnswerText(port, result);
}

}  // namespace loom::platform
