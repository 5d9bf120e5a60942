#include "ingest/schema_validator.h"

#include <array>
#include <cmath>
#include <cstring>

#include "core/clock.h"

namespace loom::ingest {

namespace sj = simdjson::ondemand;

std::string PathNode::ToString() const {
  std::vector<const PathNode*> chain;
  for (const PathNode* p = this; p != nullptr; p = p->parent) chain.push_back(p);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if ((*it)->index >= 0) {
      out += "[" + std::to_string((*it)->index) + "]";
    } else {
      if (!out.empty()) out += '.';
      out += (*it)->name;
    }
  }
  return out;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string Quote(std::string_view s) {
  if (s.size() > 64) return "'" + std::string(s.substr(0, 61)) + "...'";
  return "'" + std::string(s) + "'";
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

static bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool IsUuid(std::string_view s) {
  static const auto kHex = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = IsHex(static_cast<char>(c));
    return t;
  }();
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return false;
  bool ok = true;
  for (size_t i = 0; i < 36; ++i)
    ok &= (i == 8 || i == 13 || i == 18 || i == 23) || kHex[static_cast<unsigned char>(s[i])];
  return ok;
}

bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int m = (s[5] - '0') * 10 + (s[6] - '0');
  int d = (s[8] - '0') * 10 + (s[9] - '0');
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

// RFC 3986 URI-reference, checked for its character set and scheme shape: non-empty, no
// whitespace or control characters, no characters outside the URI set (percent-escapes allowed).
bool IsUriReference(std::string_view s) {
  // 1: allowed as is; 2: '%', which must start an escape of two hex digits.
  static const auto kTable = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 0x21; c < 0x7F; ++c) t[c] = 1;
    for (char c : std::string_view("\"<>\\^`{|}")) t[static_cast<unsigned char>(c)] = 0;
    t['%'] = 2;
    return t;
  }();
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    uint8_t k = kTable[static_cast<unsigned char>(s[i])];
    if (k == 1) continue;
    if (k == 0 || i + 2 >= s.size() || !IsHex(s[i + 1]) || !IsHex(s[i + 2])) return false;
    i += 2;
  }
  return true;
}

std::string DescribeValue(sj::value& v) {
  sj::json_type t;
  if (v.type().get(t)) return "invalid JSON";
  switch (t) {
    case sj::json_type::string: {
      std::string_view s;
      if (v.get_string().get(s)) return "string";
      std::string q(s.substr(0, 40));
      if (s.size() > 40) q += "...";
      return "string \"" + q + "\"";
    }
    case sj::json_type::number:
      return "number " + std::string(TrimRight(v.raw_json_token()).substr(0, 40));
    case sj::json_type::boolean: {
      bool b;
      if (v.get_bool().get(b) == simdjson::SUCCESS) return b ? "true" : "false";
      return "invalid JSON " + Quote(TrimRight(v.raw_json_token()));
    }
    case sj::json_type::null: {
      bool is_null = false;
      if (v.is_null().get(is_null) == simdjson::SUCCESS && is_null) return "null";
      return "invalid JSON " + Quote(TrimRight(v.raw_json_token()));
    }
    case sj::json_type::object:
      return "object";
    case sj::json_type::array:
      return "array";
  }
  return "value";
}

// ---- Pattern ----------------------------------------------------------------------------------

// A pattern of the subset "^? (literal | [class] | \d | \w) quantifier? ... $?" where every
// atom but the last has a fixed count matches position by position, and the last atom may be
// greedy because nothing follows it. Anything else goes to std::regex.

Result<Pattern> Pattern::Compile(const std::string& text) {
  Pattern pat;
  pat.text_ = text;
  std::string_view p = text;
  bool ok = true;
  if (!p.empty() && p.front() == '^') p.remove_prefix(1);
  if (!p.empty() && p.back() == '$' && (p.size() < 2 || p[p.size() - 2] != '\\'))
    p.remove_suffix(1);
  size_t i = 0;
  while (ok && i < p.size()) {
    Atom a;
    char c = p[i];
    if (c == '[') {
      size_t j = i + 1;
      bool negate = j < p.size() && p[j] == '^';
      if (negate) ++j;
      bool any = false;
      while (j < p.size() && p[j] != ']') {
        unsigned char lo = p[j];
        if (lo == '\\' || lo == '[') {
          ok = false;
          break;
        }
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
          unsigned char hi = p[j + 2];
          if (hi < lo) {
            ok = false;
            break;
          }
          for (int x = lo; x <= hi; ++x) a.set[x] = true;
          j += 3;
        } else {
          a.set[lo] = true;
          ++j;
        }
        any = true;
      }
      if (!ok || j >= p.size() || !any) {
        ok = false;
        break;
      }
      if (negate)
        for (bool& b : a.set) b = !b;
      i = j + 1;
    } else if (c == '\\') {
      if (i + 1 >= p.size()) {
        ok = false;
        break;
      }
      char e = p[i + 1];
      if (e == 'd') {
        for (int x = '0'; x <= '9'; ++x) a.set[x] = true;
      } else if (e == 'w') {
        for (int x = 0; x < 256; ++x) a.set[x] = std::isalnum(x) != 0 || x == '_';
        for (int x = 128; x < 256; ++x) a.set[x] = false;
      } else if (std::strchr(".-+*?()[]{}|^$\\/", e) != nullptr) {
        a.set[static_cast<unsigned char>(e)] = true;
      } else {
        ok = false;
        break;
      }
      i += 2;
    } else if (c == '.') {
      // ECMAScript '.' is any code unit but line terminators; simple only for ASCII input,
      // so leave it to std::regex.
      ok = false;
      break;
    } else if (std::strchr("()|*+?{}$^", c) != nullptr) {
      ok = false;
      break;
    } else {
      if (static_cast<unsigned char>(c) >= 0x80) {
        ok = false;
        break;
      }
      a.set[static_cast<unsigned char>(c)] = true;
      ++i;
    }
    if (i < p.size()) {
      char q = p[i];
      if (q == '+') {
        a.min = 1;
        a.max = -1;
        ++i;
      } else if (q == '*') {
        a.min = 0;
        a.max = -1;
        ++i;
      } else if (q == '?') {
        a.min = 0;
        a.max = 1;
        ++i;
      } else if (q == '{') {
        size_t close = p.find('}', i);
        if (close == std::string_view::npos) {
          ok = false;
          break;
        }
        std::string_view body = p.substr(i + 1, close - i - 1);
        size_t comma = body.find(',');
        auto num = [](std::string_view s, int* out) {
          if (s.empty() || s.size() > 6) return false;
          int v = 0;
          for (char ch : s) {
            if (ch < '0' || ch > '9') return false;
            v = v * 10 + (ch - '0');
          }
          *out = v;
          return true;
        };
        if (comma == std::string_view::npos) {
          if (!num(body, &a.min)) {
            ok = false;
            break;
          }
          a.max = a.min;
        } else {
          if (!num(body.substr(0, comma), &a.min)) {
            ok = false;
            break;
          }
          std::string_view hi = body.substr(comma + 1);
          if (hi.empty())
            a.max = -1;
          else if (!num(hi, &a.max) || a.max < a.min) {
            ok = false;
            break;
          }
        }
        i = close + 1;
      }
    }
    pat.atoms_.push_back(a);
  }
  // Only the last atom may have a variable count.
  for (size_t k = 0; ok && k + 1 < pat.atoms_.size(); ++k)
    if (pat.atoms_[k].min != pat.atoms_[k].max) ok = false;
  // Non-ASCII input against classes is decided per byte, which is exact only when no class
  // admits bytes >= 0x80 (negated classes do): leave those to std::regex.
  for (size_t k = 0; ok && k < pat.atoms_.size(); ++k)
    for (int x = 128; x < 256; ++x)
      if (pat.atoms_[k].set[x]) ok = false;
  pat.simple_ = ok;
  if (!ok) pat.atoms_.clear();
  try {
    // Always compiled: it validates the pattern, and is the matcher when not simple.
    pat.regex_ = std::make_shared<const std::regex>(text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return InvalidArgument("pattern " + Quote(text) + ": " + e.what());
  }
  return pat;
}

bool Pattern::Matches(std::string_view s) const {
  if (!simple_) return std::regex_match(s.begin(), s.end(), *regex_);
  size_t pos = 0;
  for (const Atom& a : atoms_) {
    int n = 0;
    while ((a.max < 0 || n < a.max) && pos < s.size() &&
           a.set[static_cast<unsigned char>(s[pos])]) {
      ++pos;
      ++n;
    }
    if (n < a.min) return false;
  }
  return pos == s.size();
}

}  // namespace loom::ingest
