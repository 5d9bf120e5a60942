// The request framings: structured, batch array, JSON Lines and the HTTP binary binding.

#include <algorithm>
#include <cstring>

#include "ingest/event_codec.h"

namespace loom::ingest {

namespace sj = simdjson::ondemand;

namespace {

// "byte 120 (line 3, column 17)" of a position in `body`.
std::string Where(std::string_view body, size_t pos) {
  pos = std::min(pos, body.size());
  size_t line = 1 + static_cast<size_t>(std::count(body.begin(), body.begin() + pos, '\n'));
  size_t nl = body.rfind('\n', pos == 0 ? 0 : pos - 1);
  size_t col = (nl == std::string_view::npos || pos == 0) ? pos + 1 : pos - nl;
  return "byte " + std::to_string(pos) + " (line " + std::to_string(line) + ", column " +
         std::to_string(col) + ")";
}

// The first invalid UTF-8 sequence in s (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
size_t FirstInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || c > 0xF4 || i + len > n) return i;
    for (size_t k = 1; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    if (c == 0xE0 && p[i + 1] < 0xA0) return i;
    if (c == 0xED && p[i + 1] >= 0xA0) return i;
    if (c == 0xF0 && p[i + 1] < 0x90) return i;
    if (c == 0xF4 && p[i + 1] >= 0x90) return i;
    i += len;
  }
  return n;
}

// True when the document has no tokens left (simdjson 3.0 reports OUT_OF_BOUNDS there).
bool AtEnd(sj::document& doc) {
  const char* loc = nullptr;
  return doc.current_location().get(loc) == simdjson::OUT_OF_BOUNDS;
}

// " at byte N (line L, column C)" where a document's walk stopped, when simdjson knows it.
std::string LocationSuffix(sj::document& doc, std::string_view body) {
  const char* loc = nullptr;
  if (doc.current_location().get(loc) == simdjson::SUCCESS && loc >= body.data() &&
      loc <= body.data() + body.size())
    return " at " + Where(body, static_cast<size_t>(loc - body.data()));
  return "";
}

// The position a broken document stopped at, when simdjson knows it.
std::string ErrorAt(sj::document& doc, std::string_view body, simdjson::error_code e) {
  const char* loc = nullptr;
  std::string msg = std::string("JSON syntax error: ") + simdjson::error_message(e);
  if (doc.current_location().get(loc) == simdjson::SUCCESS && loc >= body.data() &&
      loc <= body.data() + body.size()) {
    msg += " at " + Where(body, static_cast<size_t>(loc - body.data()));
  }
  return msg;
}

Status TooLarge(std::string_view body, const PortRules& rules) {
  if (body.size() > rules.limits.max_batch_bytes)
    return ResourceExhausted("request body is " + std::to_string(body.size()) +
                             " bytes, over the limit of " +
                             std::to_string(rules.limits.max_batch_bytes));
  return Status::Ok();
}

Status InvalidUtf8(std::string_view body) {
  return InvalidArgument("body: invalid UTF-8 at " + Where(body, FirstInvalidUtf8(body)));
}

Status TooMany(size_t n, const PortRules& rules) {
  return ResourceExhausted("request holds more than " +
                           std::to_string(rules.limits.max_batch_records) +
                           " events (the per-request limit); got at least " + std::to_string(n));
}

// Oversized events are refused after their walk (the framing does not know their end sooner).
void CheckEventSize(const PortRules& rules, DecodedEvent* ev) {
  if (ev->raw.size() > static_cast<size_t>(rules.max_event_bytes)) {
    ev->valid = false;
    ev->reason = "event is " + std::to_string(ev->raw.size()) +
                 " bytes, over the port's limit of " + std::to_string(rules.max_event_bytes) +
                 " (max_event_bytes)";
  }
}

Status DecodeStructured(std::string_view body, const PortRules& rules, Scratch* s,
                        std::string_view context) {
  body = std::string_view(s->padded.data(), body.size());  // positions point into the copy
  sj::document doc;
  auto fail = [&](std::string msg) { return InvalidArgument(std::string(context) + msg); };
  if (auto e = s->parser.iterate(s->padded.data(), body.size(), s->padded.size()).get(doc);
      e != simdjson::SUCCESS) {
    return fail(std::string("JSON syntax error: ") + simdjson::error_message(e));
  }
  sj::value v;
  if (auto e = doc.get_value().get(v); e != simdjson::SUCCESS) return fail(ErrorAt(doc, body, e));
  DecodedEvent& ev = s->events.emplace_back();
  ev.raw = std::string_view(s->padded.data(), body.size());
  WalkResult r = EncodeOne(v, rules, s, &ev);
  if (r == WalkResult::kSyntax) return fail(ev.reason + LocationSuffix(doc, body));
  if (r == WalkResult::kOk && !AtEnd(doc))
    return fail("JSON syntax error: content after the event at " +
                Where(body, static_cast<size_t>(body.size())));
  if (ev.valid) CheckEventSize(rules, &ev);
  return Status::Ok();
}

Status DecodeBatch(std::string_view body, const PortRules& rules, Scratch* s) {
  body = std::string_view(s->padded.data(), body.size());  // positions point into the copy
  sj::document doc;
  if (auto e = s->parser.iterate(s->padded.data(), body.size(), s->padded.size()).get(doc);
      e != simdjson::SUCCESS) {
    return InvalidArgument(std::string("batch: JSON syntax error: ") + simdjson::error_message(e));
  }
  sj::json_type jt;
  if (auto e = doc.type().get(jt); e != simdjson::SUCCESS)
    return InvalidArgument("batch: " + ErrorAt(doc, body, e));
  if (jt != sj::json_type::array)
    return InvalidArgument(
        "batch: expected a JSON array of CloudEvents (application/cloudevents-batch+json)");
  sj::array arr;
  if (auto e = doc.get_array().get(arr); e != simdjson::SUCCESS)
    return InvalidArgument("batch: " + ErrorAt(doc, body, e));
  s->starts.clear();
  for (auto item : arr) {
    sj::value v;
    if (auto e = std::move(item).get(v); e != simdjson::SUCCESS)
      return InvalidArgument("batch: event[" + std::to_string(s->events.size()) +
                             "]: " + ErrorAt(doc, body, e));
    if (s->events.size() >= rules.limits.max_batch_records)
      return TooMany(s->events.size() + 1, rules);
    s->starts.push_back(v.raw_json_token().data());
    DecodedEvent& ev = s->events.emplace_back();
    if (EncodeOne(v, rules, s, &ev) == WalkResult::kSyntax)
      return InvalidArgument("batch: event[" + std::to_string(s->events.size() - 1) +
                             "]: " + ev.reason + LocationSuffix(doc, body));
  }
  if (!AtEnd(doc)) return InvalidArgument("batch: JSON syntax error: content after the array");
  // Each event's own text: from its start to the next one's (or the closing bracket).
  size_t close = body.find_last_of(']');
  for (size_t i = 0; i < s->events.size(); ++i) {
    const char* b = s->starts[i];
    const char* e = i + 1 < s->starts.size() ? s->starts[i + 1] : body.data() + close;
    std::string_view t(b, static_cast<size_t>(e - b));
    t = TrimRight(t);
    if (i + 1 < s->starts.size() && !t.empty() && t.back() == ',') t.remove_suffix(1);
    s->events[i].raw = TrimRight(t);
    if (s->events[i].valid) CheckEventSize(rules, &s->events[i]);
  }
  return Status::Ok();
}

// Lines are parsed in place in the body when enough of it follows them to stand for simdjson's
// padding (stage 1 reads the bytes past a document's end but does not interpret them), else
// from a padded copy of the line alone: the body is not copied. Nor is it validated as UTF-8
// first: stage 1 validates each line (every byte outside the lines is ASCII whitespace), and a
// line whose stage 1 fails for any reason is checked on its own, so invalid UTF-8 anywhere still
// fails the whole request, at the first bad byte, as for the other framings.
Status DecodeLines(std::string_view body, const PortRules& rules, Scratch* s) {
  size_t pos = 0, line = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl;
    ++line;
    std::string_view text = TrimRight(body.substr(pos, end - pos));
    size_t start = pos;
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
      text.remove_prefix(1);
      ++start;
    }
    pos = end + 1;
    if (text.empty()) continue;
    if (s->events.size() >= rules.limits.max_batch_records) {
      if (!simdjson::validate_utf8(body.data(), body.size())) return InvalidUtf8(body);
      return TooMany(s->events.size() + 1, rules);
    }
    DecodedEvent& ev = s->events.emplace_back();
    ev.raw = text;
    std::string_view doc_text = text;  // what simdjson parses: the line, or its padded copy
    size_t capacity = body.size() - start;
    if (capacity < text.size() + simdjson::SIMDJSON_PADDING) {
      s->padded.assign(text);
      s->padded.append(simdjson::SIMDJSON_PADDING, ' ');
      doc_text = std::string_view(s->padded.data(), text.size());
      capacity = s->padded.size();
    }
    auto syntax = [&](std::string msg) {
      ev.valid = false;
      ev.reason = "line " + std::to_string(line) + ": " + msg;
    };
    sj::document doc;
    if (auto e = s->parser.iterate(doc_text.data(), doc_text.size(), capacity).get(doc);
        e != simdjson::SUCCESS) {
      // Every earlier line passed stage 1, so the first bad byte of the body is in this line.
      if (!simdjson::validate_utf8(text.data(), text.size())) return InvalidUtf8(body);
      syntax(std::string("JSON syntax error: ") + simdjson::error_message(e));
      continue;
    }
    sj::value v;
    if (auto e = doc.get_value().get(v); e != simdjson::SUCCESS) {
      syntax(ErrorAt(doc, doc_text, e));
      continue;
    }
    WalkResult r = EncodeOne(v, rules, s, &ev);
    if (r == WalkResult::kSyntax) {
      const char* loc = nullptr;
      std::string at;
      if (doc.current_location().get(loc) == simdjson::SUCCESS && loc >= doc_text.data() &&
          loc <= doc_text.data() + doc_text.size())
        at = " at column " + std::to_string(loc - doc_text.data() + 1);
      syntax(ev.reason + at);
      continue;
    }
    if (r == WalkResult::kOk && !AtEnd(doc)) {
      s->arena.resize(ev.value_begin);
      syntax("JSON syntax error: content after the event");
      continue;
    }
    if (ev.valid) CheckEventSize(rules, &ev);
  }
  return Status::Ok();
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (Lower(s[i]) != prefix[i]) return false;
  return true;
}

std::string PercentDecode(std::string_view v) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = Lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() + 0 && hex(v[i + 1]) >= 0 && hex(v[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(v[i + 1]) * 16 + hex(v[i + 2])));
      i += 2;
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

}  // namespace

Result<Format> FormatForContentType(std::string_view content_type, bool has_ce_headers) {
  std::string base;
  for (char c : content_type.substr(0, content_type.find(';'))) {
    if (c != ' ' && c != '\t') base.push_back(Lower(c));
  }
  if (base == "application/cloudevents+json") return Format::kStructured;
  if (base == "application/cloudevents-batch+json") return Format::kBatch;
  if (base == "application/x-ndjson" || base == "application/jsonl" ||
      base == "application/json-seq" || base == "application/x-jsonlines")
    return Format::kJsonLines;
  if (has_ce_headers) return Format::kBinary;
  return InvalidArgument("content type '" + std::string(content_type) +
                         "' is not an event format: use application/cloudevents+json, "
                         "application/cloudevents-batch+json, application/x-ndjson, or the "
                         "binary mode (ce-* headers)");
}

Status Decode(const Request& request, const PortRules& rules, Scratch* s) {
  s->events.clear();
  s->arena.clear();
  std::string_view body = request.body;
  std::string binary_doc;
  size_t prefix = 0;
  if (request.format == Format::kBinary) {
    // Rebuild the structured form: the ce-* headers as attributes, the body as data.
    binary_doc = "{";
    bool has_version = false;
    for (const Header& h : request.headers) {
      std::string name;
      if (StartsWithNoCase(h.name, "ce-")) {
        for (char c : h.name.substr(3)) name.push_back(Lower(c));
        has_version = has_version || name == "specversion";
      } else if (StartsWithNoCase(h.name, "content-type") && h.name.size() == 12) {
        name = "datacontenttype";
      } else {
        continue;
      }
      if (binary_doc.size() > 1) binary_doc.push_back(',');
      AppendJsonString(name, &binary_doc);
      binary_doc.push_back(':');
      AppendJsonString(name == "datacontenttype" ? std::string(h.value) : PercentDecode(h.value),
                       &binary_doc);
    }
    if (!has_version) return InvalidArgument("binary mode: the ce-specversion header is missing");
    if (binary_doc.size() > 1) binary_doc.push_back(',');
    binary_doc += "\"data\":";
    prefix = binary_doc.size();
    if (TrimRight(body).empty()) binary_doc += "null";
    binary_doc.append(body);
    binary_doc.push_back('}');
  }
  LOOM_RETURN_IF_ERROR(TooLarge(body, rules));
  // JSON Lines are validated line by line as they are parsed (DecodeLines).
  if (request.format != Format::kJsonLines && !simdjson::validate_utf8(body.data(), body.size()))
    return InvalidUtf8(body);
  std::string_view doc_text =
      request.format == Format::kBinary ? std::string_view(binary_doc) : body;
  if (request.format == Format::kBinary &&
      !simdjson::validate_utf8(binary_doc.data(), binary_doc.size()))
    return InvalidArgument("binary mode: a ce-* header is not valid UTF-8 after percent-decoding");
  if (request.format != Format::kJsonLines) {
    s->padded.assign(doc_text);
    s->padded.append(simdjson::SIMDJSON_PADDING, ' ');
  }
  switch (request.format) {
    case Format::kStructured:
      return DecodeStructured(doc_text, rules, s, "");
    case Format::kBinary: {
      Status st = DecodeStructured(doc_text, rules, s, "binary mode: ");
      (void)prefix;
      if (!s->events.empty())
        s->events[0].raw = std::string_view(s->padded.data(), doc_text.size());
      return st;
    }
    case Format::kBatch:
      return DecodeBatch(doc_text, rules, s);
    case Format::kJsonLines:
      return DecodeLines(doc_text, rules, s);
  }
  return InvalidArgument("unknown format");
}

}  // namespace loom::ingest
