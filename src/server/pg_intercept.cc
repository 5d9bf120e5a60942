#include "server/pg_intercept.h"

#include <algorithm>
#include <cctype>

namespace loom::server::pg {
namespace {

struct Token {
  enum class Type { kWord, kQuoted, kString, kNumber, kPunct };
  Type type;
  std::string text;  // words lower case; strings and quoted identifiers unquoted
};

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A small lexer for the few statement shapes the listener answers. Returns false when it meets
// something those shapes never hold (the statement then goes to the session).
bool Tokenize(std::string_view s, std::vector<Token>* out) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c) || c == ';') {
      ++i;
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      size_t end = s.find("*/", i + 2);
      if (end == std::string_view::npos) return false;
      i = end + 2;
    } else if (std::isalpha(c) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      out->push_back({Token::Type::kWord, Lower(s.substr(i, j - i))});
      i = j;
    } else if (std::isdigit(c) || (c == '.' && i + 1 < s.size() &&
                                   std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
      out->push_back({Token::Type::kNumber, std::string(s.substr(i, j - i))});
      i = j;
    } else if (c == '\'' || c == '"') {
      char q = static_cast<char>(c);
      std::string text;
      size_t j = i + 1;
      bool closed = false;
      while (j < s.size()) {
        if (s[j] == q) {
          if (j + 1 < s.size() && s[j + 1] == q) {
            text.push_back(q);
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        text.push_back(s[j++]);
      }
      if (!closed) return false;
      out->push_back({q == '\'' ? Token::Type::kString : Token::Type::kQuoted, std::move(text)});
      i = j;
    } else if (c == '=' || c == ',' || c == '(' || c == ')' || c == '.' || c == '-') {
      out->push_back({Token::Type::kPunct, std::string(1, static_cast<char>(c))});
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

bool IsWord(const std::vector<Token>& t, size_t i, std::string_view w) {
  return i < t.size() && t[i].type == Token::Type::kWord && t[i].text == w;
}
bool IsPunct(const std::vector<Token>& t, size_t i, char p) {
  return i < t.size() && t[i].type == Token::Type::kPunct && t[i].text[0] == p;
}
bool IsName(const std::vector<Token>& t, size_t i) {
  return i < t.size() && (t[i].type == Token::Type::kWord || t[i].type == Token::Type::kQuoted);
}

// value[, value...] from token i to the end; false if anything else is there.
bool ValueList(const std::vector<Token>& t, size_t i, std::string* value) {
  if (i >= t.size()) return false;
  while (i < t.size()) {
    std::string v;
    if (IsPunct(t, i, '-') && i + 1 < t.size() && t[i + 1].type == Token::Type::kNumber) {
      v = "-" + t[i + 1].text;
      i += 2;
    } else if (t[i].type == Token::Type::kPunct) {
      return false;
    } else {
      v = t[i].type == Token::Type::kWord && t[i].text == "default" ? "DEFAULT" : t[i].text;
      ++i;
    }
    if (!value->empty()) *value += ", ";
    *value += v;
    if (i < t.size()) {
      if (!IsPunct(t, i, ',')) return false;
      ++i;
      if (i >= t.size()) return false;
    }
  }
  return true;
}

Intercept ClassifySet(const std::vector<Token>& t) {
  Intercept r;
  size_t i = 1;
  if (IsWord(t, i, "session") && IsWord(t, i + 1, "characteristics")) {
    if (!IsWord(t, i + 2, "as") || !IsWord(t, i + 3, "transaction")) return r;
    for (size_t j = i + 4; j < t.size(); ++j) {
      if (t[j].type != Token::Type::kWord && !IsPunct(t, j, ',')) return r;
    }
    r.kind = Intercept::Kind::kNoopSet;
    return r;
  }
  if (IsWord(t, i, "session") || IsWord(t, i, "local")) ++i;
  if (IsWord(t, i, "time") && IsWord(t, i + 1, "zone")) {
    r.name = "timezone";
    i += 2;
  } else {
    if (!IsName(t, i)) return r;
    r.name = Lower(t[i].text);
    ++i;
    if (IsPunct(t, i, '=') || IsWord(t, i, "to")) {
      ++i;
    } else {
      return r;
    }
  }
  if (!ValueList(t, i, &r.value)) return r;
  r.kind = Intercept::Kind::kSet;
  return r;
}

Intercept ClassifyShow(const std::vector<Token>& t) {
  Intercept r;
  if (t.size() == 4 && IsWord(t, 1, "transaction") && IsWord(t, 2, "isolation") &&
      IsWord(t, 3, "level")) {
    r.name = "transaction_isolation";
  } else if (t.size() == 3 && IsWord(t, 1, "time") && IsWord(t, 2, "zone")) {
    r.name = "timezone";
  } else if (t.size() == 2 && IsName(t, 1)) {
    r.name = Lower(t[1].text);
  } else {
    return r;
  }
  r.kind = Intercept::Kind::kShow;
  return r;
}

bool IsVersionCall(const std::vector<Token>& t) {
  size_t i = 1;
  if (IsWord(t, i, "pg_catalog") && IsPunct(t, i + 1, '.')) i += 2;
  return t.size() == i + 3 && IsWord(t, i, "version") && IsPunct(t, i + 1, '(') &&
         IsPunct(t, i + 2, ')');
}

const std::map<std::string, std::string>& Defaults() {
  static const auto* kDefaults = new std::map<std::string, std::string>{
      {"server_version", kServerVersion},
      {"server_version_num", "150000"},
      {"server_encoding", "UTF8"},
      {"client_encoding", "UTF8"},
      {"datestyle", "ISO"},
      {"intervalstyle", "postgres"},
      {"integer_datetimes", "on"},
      {"standard_conforming_strings", "on"},
      {"timezone", "UTC"},
      {"application_name", ""},
      {"extra_float_digits", "1"},
      {"bytea_output", "hex"},
      {"search_path", ""},
      {"transaction_isolation", "read committed"},
      {"transaction_read_only", "on"},
      {"default_transaction_read_only", "on"},
      {"is_superuser", "off"},
      {"max_identifier_length", "63"},
  };
  return *kDefaults;
}

bool IsUtf8Name(const std::string& v) {
  std::string l = Lower(v);
  return l == "utf8" || l == "utf-8" || l == "unicode" || l == "sql_ascii";
}

}  // namespace

Intercept Classify(std::string_view sql) {
  std::vector<Token> t;
  Intercept r;
  if (!Tokenize(sql, &t)) return r;
  if (t.empty()) {
    r.kind = Intercept::Kind::kEmpty;
  } else if (IsWord(t, 0, "set")) {
    r = ClassifySet(t);
  } else if (IsWord(t, 0, "show")) {
    r = ClassifyShow(t);
  } else if (IsWord(t, 0, "select") && IsVersionCall(t)) {
    r.kind = Intercept::Kind::kVersion;
  }
  return r;
}

Settings::Settings() : values_(Defaults()) {}

Status Settings::Set(const std::string& name, const std::string& value, std::string* reported) {
  reported->clear();
  bool reset = value == "DEFAULT";
  auto fixed = [&](const char* setting, auto accepts) -> Status {
    if (reset || accepts()) return Status::Ok();
    return InvalidArgument("Loom's SQL port only supports " + std::string(setting) + " = " +
                           Defaults().at(name) + " (got '" + value + "')");
  };
  if (name == "application_name") {
    values_[name] = reset ? "" : value.substr(0, 63);
    *reported = "application_name";
    return Status::Ok();
  }
  if (name == "extra_float_digits") {
    char* end = nullptr;
    long v = std::strtol(value.c_str(), &end, 10);
    if (!reset && (value.empty() || *end != '\0' || v < -15 || v > 3)) {
      return InvalidArgument("extra_float_digits must be an integer from -15 to 3 (got '" + value +
                             "')");
    }
    values_[name] = reset ? Defaults().at(name) : std::to_string(v);
    return Status::Ok();
  }
  if (name == "search_path") {
    values_[name] = reset ? "" : value;
    return Status::Ok();
  }
  if (name == "timezone") {
    // Accepted so that drivers connect; values are still rendered in UTC, timestamptz with its
    // "+00" offset, which every client reads correctly (docs/postgres.md).
    return Status::Ok();
  }
  if (name == "client_encoding") return fixed("client_encoding", [&] { return IsUtf8Name(value); });
  if (name == "datestyle") {
    return fixed("DateStyle", [&] { return Lower(value).find("iso") != std::string::npos; });
  }
  if (name == "intervalstyle")
    return fixed("IntervalStyle", [&] { return Lower(value) == "postgres"; });
  if (name == "bytea_output") return fixed("bytea_output", [&] { return Lower(value) == "hex"; });
  if (name == "standard_conforming_strings") {
    return fixed("standard_conforming_strings", [&] { return Lower(value) == "on"; });
  }
  return Unimplemented("SET " + name +
                       " is not supported: a Loom session's settings are fixed (see "
                       "docs/postgres.md for the settings the SQL port accepts)");
}

Result<std::string> Settings::Show(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return NotFound("unrecognized configuration parameter \"" + name + "\"");
  return it->second;
}

std::vector<std::pair<std::string, std::string>> Settings::Reported() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* n : {"server_version", "server_encoding", "client_encoding", "datestyle",
                        "intervalstyle", "integer_datetimes", "standard_conforming_strings",
                        "timezone", "application_name", "is_superuser"}) {
    out.emplace_back(ShowColumn(n), values_.at(n));
  }
  return out;
}

std::string Settings::ShowColumn(const std::string& name) {
  if (name == "datestyle") return "DateStyle";
  if (name == "timezone") return "TimeZone";
  if (name == "intervalstyle") return "IntervalStyle";
  return name;
}

}  // namespace loom::server::pg
