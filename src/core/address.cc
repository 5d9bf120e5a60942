#include "core/address.h"

#include <vector>

namespace loom {
namespace {

constexpr std::string_view kScheme = "loom://";

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

bool IsValidVersion(std::string_view v) {
  if (v.empty() || v.size() > 64) return false;
  for (char c : v) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-' || c == '+';
    if (!ok) return false;
  }
  return v != "." && v != "..";
}

std::string Dashes(std::string_view s, char from, char to) {
  std::string out(s);
  for (char& c : out) {
    if (c == from) c = to;
  }
  return out;
}

}  // namespace

std::string NameProblem(std::string_view s) {
  if (s.empty()) return "is empty";
  if (s.size() > 63) return "is longer than 63 characters";
  if (!(s[0] >= 'a' && s[0] <= 'z')) return "must start with a lowercase letter";
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return "may contain only lowercase letters, digits and '-'";
  }
  if (s.back() == '-') return "must not end with '-'";
  if (s.find("--") != std::string_view::npos) return "must not contain '--'";
  return "";
}

bool IsValidName(std::string_view s) { return NameProblem(s).empty(); }

Result<Address> Address::Parse(std::string_view text) {
  const std::string quoted = "'" + std::string(text.substr(0, 200)) + "'";
  std::string_view rest = text;
  if (rest.starts_with(kScheme)) {
    rest.remove_prefix(kScheme.size());
  } else if (rest.find("://") != std::string_view::npos) {
    return InvalidArgument("address " + quoted + ": scheme must be loom://");
  }
  Address a;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view v = rest.substr(at + 1);
    if (!IsValidVersion(v)) {
      return InvalidArgument("address " + quoted + ": version '" + std::string(v) +
                             "' may contain only letters, digits, '.', '-' and '+'");
    }
    a.version = std::string(v);
    rest = rest.substr(0, at);
  }
  std::vector<std::string_view> parts = Split(rest, '/');
  if (parts.size() < 2 || parts.size() > 3) {
    return InvalidArgument("address " + quoted +
                           ": expected loom://<domain>/<product>[/<port>][@<version>]");
  }
  static constexpr const char* kWhat[] = {"domain", "product", "port"};
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string problem = NameProblem(parts[i]);
    if (!problem.empty()) {
      return InvalidArgument("address " + quoted + ": " + kWhat[i] + " name '" +
                             std::string(parts[i].substr(0, 64)) + "' " + problem);
    }
  }
  a.domain = std::string(parts[0]);
  a.product = std::string(parts[1]);
  if (parts.size() == 3) a.port = std::string(parts[2]);
  return a;
}

std::string Address::ToString() const {
  std::string s = std::string(kScheme) + domain + "/" + product;
  if (!port.empty()) s += "/" + port;
  if (version) s += "@" + *version;
  return s;
}

std::string Address::SqlName() const {
  std::string s = Dashes(domain, '-', '_') + "." + Dashes(product, '-', '_');
  if (!port.empty()) s += "." + Dashes(port, '-', '_');
  return s;
}

std::string Address::HttpPath() const {
  std::string s = "/v1/products/" + domain + "/" + product;
  if (!port.empty()) s += "/ports/" + port;
  return s;
}

Result<Address> Address::FromSqlName(std::string_view name) {
  std::vector<std::string_view> parts = Split(name, '.');
  if (parts.size() != 3) {
    return InvalidArgument("SQL name '" + std::string(name.substr(0, 200)) +
                           "': expected <domain>.<product>.<port>");
  }
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].find('-') != std::string_view::npos) {
      return InvalidArgument("SQL name '" + std::string(name.substr(0, 200)) +
                             "': use '_' where the address has '-'");
    }
    if (i) text += "/";
    text += Dashes(parts[i], '_', '-');
  }
  return Parse(text);
}

}  // namespace loom
