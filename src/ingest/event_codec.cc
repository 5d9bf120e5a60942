#include "ingest/event_codec.h"

#include <algorithm>
#include <cstring>

#include "core/clock.h"

namespace loom::ingest {

namespace sj = simdjson::ondemand;

void AppendJsonString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

static inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t Fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

void Hash128(std::string_view data, uint64_t* out1, uint64_t* out2) {
  const uint64_t c1 = 0x87c37b91114253d5ull, c2 = 0x4cf5ad432745937full;
  const size_t n = data.size(), blocks = n / 16;
  const char* p = data.data();
  uint64_t h1 = 0x9747b28c, h2 = 0x9747b28c;
  for (size_t i = 0; i < blocks; ++i) {
    uint64_t k1, k2;
    std::memcpy(&k1, p + i * 16, 8);
    std::memcpy(&k2, p + i * 16 + 8, 8);
    k1 *= c1;
    k1 = Rotl(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = Rotl(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = Rotl(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = Rotl(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const unsigned char* tail = reinterpret_cast<const unsigned char*>(p + blocks * 16);
  uint64_t k1 = 0, k2 = 0;
  size_t rest = n & 15;
  for (size_t i = rest; i > 8; --i) k2 ^= static_cast<uint64_t>(tail[i - 1]) << ((i - 9) * 8);
  for (size_t i = std::min<size_t>(rest, 8); i > 0; --i)
    k1 ^= static_cast<uint64_t>(tail[i - 1]) << ((i - 1) * 8);
  if (rest > 8) {
    k2 *= c2;
    k2 = Rotl(k2, 33);
    k2 *= c1;
    h2 ^= k2;
  }
  if (rest > 0) {
    k1 *= c1;
    k1 = Rotl(k1, 31);
    k1 *= c2;
    h1 ^= k1;
  }
  h1 ^= n;
  h2 ^= n;
  h1 += h2;
  h2 += h1;
  h1 = Fmix(h1);
  h2 = Fmix(h2);
  h1 += h2;
  h2 += h1;
  *out1 = h1;
  *out2 = h2;
}

namespace {

enum Attr : uint32_t {
  kSpecVersion = 1,
  kId = 2,
  kSource = 4,
  kType = 8,
  kContentType = 16,
  kDataSchema = 32,
  kSubject = 64,
  kTime = 128,
  kData = 256,
};

bool IsExtensionName(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

bool IsJsonMediaType(std::string_view s) {
  size_t semi = s.find(';');
  std::string_view base = TrimRight(s.substr(0, semi));
  while (!base.empty() && base.front() == ' ') base.remove_prefix(1);
  if (base.size() != 16) return false;
  for (size_t i = 0; i < 16; ++i)
    if ((base[i] | (base[i] >= 'A' && base[i] <= 'Z' ? 0x20 : 0)) != "application/json"[i])
      return false;
  return true;
}

// Walks one event object: the envelope rules, `data` through the schema, and the canonical form
// appended to scratch->arena. kSyntax means the JSON itself is broken at this point.
WalkResult EncodeEvent(sj::value event, const PortRules& rules, Scratch* s, DecodedEvent* ev) {
  std::string& reason = ev->reason;
  sj::json_type jt;
  if (auto e = event.type().get(jt); e != simdjson::SUCCESS) {
    reason = std::string("JSON syntax error: ") + simdjson::error_message(e);
    return WalkResult::kSyntax;
  }
  if (jt != sj::json_type::object) {
    reason = "expected a CloudEvent JSON object, got " + DescribeValue(event);
    return WalkResult::kInvalid;
  }
  sj::object obj;
  if (auto e = event.get_object().get(obj); e != simdjson::SUCCESS) {
    reason = std::string("JSON syntax error: ") + simdjson::error_message(e);
    return WalkResult::kSyntax;
  }
  auto syntax = [&](std::string_view where, simdjson::error_code e) {
    reason = std::string(where) + (where.empty() ? "" : ": ") +
             "JSON syntax error: " + simdjson::error_message(e);
    return WalkResult::kSyntax;
  };
  auto invalid = [&](std::string why) {
    reason = std::move(why);
    return WalkResult::kInvalid;
  };
  uint32_t seen = 0;
  std::string_view raw[8];  // raw tokens of the known attributes, by bit index
  std::string_view id, source;
  s->extensions.clear();
  s->data.clear();
  ev->has_time = false;
  bool data_has_time = false;
  int64_t data_time = 0;
  for (auto item : obj) {
    // The field in place (no copy of it out of its result: see schema_walk.cc).
    if (auto e = item.error(); e != simdjson::SUCCESS) return syntax("", e);
    sj::field&& f = std::move(item).value_unsafe();
    std::string_view key;
    if (auto e = FieldKey(f, &key); e != simdjson::SUCCESS) return syntax("", e);
    sj::value& v = f.value();
    if (auto e = v.type().get(jt); e != simdjson::SUCCESS) return syntax(key, e);
    uint32_t bit = 0;
    // The attribute by its name (dispatched on the length first).
    switch (key.size()) {
      case 2:
        if (key == "id") bit = kId;
        break;
      case 4:
        if (key == "data") {
          if (seen & kData) return invalid("data: duplicate attribute");
          seen |= kData;
          if (jt == sj::json_type::null) continue;
          WalkResult r = rules.schema->Walk(v, &s->data, &s->capture, &reason);
          if (r != WalkResult::kOk) return r;
          data_has_time = s->capture.has_event_time;
          data_time = s->capture.event_time;
          continue;
        }
        if (key == "type")
          bit = kType;
        else if (key == "time")
          bit = kTime;
        break;
      case 6:
        if (key == "source") bit = kSource;
        break;
      case 7:
        if (key == "subject") bit = kSubject;
        break;
      case 10:
        if (key == "dataschema") bit = kDataSchema;
        break;
      case 11:
        if (key == "specversion")
          bit = kSpecVersion;
        else if (key == "data_base64")
          return invalid(
              "data_base64: binary data is not accepted; a port's data is application/json");
        break;
      case 15:
        if (key == "datacontenttype") bit = kContentType;
        break;
      default:
        break;
    }
    if (bit == 0) {
      if (!IsExtensionName(key))
        return invalid("extension attribute " + Quote(key) +
                       ": names are 1 to 20 lowercase letters or digits");
      for (const auto& [name, _] : s->extensions)
        if (name == key) return invalid(std::string(key) + ": duplicate attribute");
      if (jt == sj::json_type::null) continue;
      if (jt != sj::json_type::string && jt != sj::json_type::number &&
          jt != sj::json_type::boolean)
        return invalid(std::string(key) +
                       ": an extension attribute is a string, number or bool, got " +
                       DescribeValue(v));
      std::string_view tok = TrimRight(v.raw_json_token());
      if (jt == sj::json_type::string) {
        std::string_view ignored;  // validates the escapes
        if (auto e = StringValue(v, tok, &ignored); e != simdjson::SUCCESS) return syntax(key, e);
      }
      s->extensions.emplace_back(key, tok);
      continue;
    }
    if (seen & bit) return invalid(std::string(key) + ": duplicate attribute");
    seen |= bit;
    if (jt != sj::json_type::string)
      return invalid(std::string(key) + ": expected a string, got " + DescribeValue(v));
    std::string_view tok = TrimRight(v.raw_json_token());
    std::string_view str;
    if (auto e = StringValue(v, tok, &str); e != simdjson::SUCCESS) return syntax(key, e);
    raw[__builtin_ctz(bit)] = tok;
    switch (bit) {
      case kSpecVersion:
        if (str != "1.0")
          return invalid("specversion: " + Quote(str) + " is not supported (expected '1.0')");
        break;
      case kId:
        if (str.empty()) return invalid("id: must not be empty");
        id = str;
        break;
      case kSource:
        if (!IsUriReference(str))
          return invalid("source: " + Quote(str) + " is not a URI-reference");
        source = str;
        break;
      case kType:
        if (str.empty()) return invalid("type: must not be empty");
        if (!rules.event_type.empty() && str != rules.event_type)
          return invalid("type: " + Quote(str) + " is not this port's event type " +
                         Quote(rules.event_type));
        break;
      case kContentType:
        if (!IsJsonMediaType(str))
          return invalid("datacontenttype: " + Quote(str) +
                         " is not accepted (expected application/json)");
        break;
      case kDataSchema:
        if (!IsUriReference(str)) return invalid("dataschema: " + Quote(str) + " is not a URI");
        break;
      case kTime: {
        auto t = ParseRfc3339(str);
        if (!t.ok()) return invalid("time: " + Quote(str) + " is not an RFC 3339 timestamp");
        ev->has_time = true;
        ev->timestamp = *t;
        break;
      }
      default:
        break;
    }
  }
  static const char* kRequired[] = {"specversion", "id", "source", "type"};
  for (int i = 0; i < 4; ++i)
    if (!(seen & (1u << i)))
      return invalid(std::string(kRequired[i]) + ": missing (a required CloudEvents attribute)");
  if (!(seen & kData) || s->data.empty()) {
    // Absent or null data is valid only when the schema requires nothing.
    s->data.clear();
    if (rules.schema->has_required())
      return invalid("data: missing (the schema has required fields)");
  }
  if (data_has_time) {
    ev->has_time = true;
    ev->timestamp = data_time;
  }
  // Dedup key: source, NUL, id.
  s->hash_buf.assign(source);
  s->hash_buf.push_back('\0');
  s->hash_buf.append(id);
  Hash128(s->hash_buf, &ev->h1, &ev->h2);
  // Canonical form.
  std::string& a = s->arena;
  ev->value_begin = static_cast<uint32_t>(a.size());
  a.append("{\"specversion\":\"1.0\",\"id\":");
  a.append(raw[1]);
  a.append(",\"source\":");
  a.append(raw[2]);
  a.append(",\"type\":");
  a.append(raw[3]);
  static constexpr std::string_view kOptional[] = {"datacontenttype", "dataschema", "subject",
                                                   "time"};
  for (int i = 4; i < 8; ++i) {
    if (!(seen & (1u << i))) continue;
    a.append(",\"");
    a.append(kOptional[i - 4]);
    a.append("\":");
    a.append(raw[i]);
  }
  std::sort(s->extensions.begin(), s->extensions.end());
  for (const auto& [name, tok] : s->extensions) {
    a.append(",\"");
    a.append(name);
    a.append("\":");
    a.append(tok);
  }
  if (!s->data.empty()) {
    a.append(",\"data\":");
    a.append(s->data);
  }
  a.push_back('}');
  ev->value_len = static_cast<uint32_t>(a.size() - ev->value_begin);
  ev->key_begin = static_cast<uint32_t>(a.size());
  for (size_t k = 0; k < s->capture.key_parts.size() && rules.schema->key_fields() > 0; ++k) {
    if (k > 0) a.push_back('\x1f');
    a.append(s->capture.key_parts[k]);
  }
  ev->key_len = static_cast<uint32_t>(a.size() - ev->key_begin);
  ev->valid = true;
  return WalkResult::kOk;
}

}  // namespace

// Entry used by the framings (request_decoder.cc).
WalkResult EncodeOne(sj::value event, const PortRules& rules, Scratch* s, DecodedEvent* ev) {
  size_t mark = s->arena.size();
  WalkResult r = EncodeEvent(event, rules, s, ev);
  if (r != WalkResult::kOk) {
    s->arena.resize(mark);
    ev->valid = false;
  }
  return r;
}

bool ReadIdAndSource(sj::parser& parser, std::string* padded, std::string_view value,
                     std::string* id, std::string* source) {
  padded->assign(value);
  padded->append(simdjson::SIMDJSON_PADDING, ' ');
  sj::document doc;
  if (parser.iterate(padded->data(), value.size(), padded->size()).get(doc) != simdjson::SUCCESS)
    return false;
  std::string_view v;
  if (doc["id"].get_string().get(v) != simdjson::SUCCESS) return false;
  id->assign(v);
  if (doc["source"].get_string().get(v) != simdjson::SUCCESS) return false;
  source->assign(v);
  return true;
}

}  // namespace loom::ingest
