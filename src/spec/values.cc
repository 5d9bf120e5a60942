// Value types of spec.h: versions, durations, sizes, field types, and their text forms.

#include <charconv>
#include <limits>

#include "spec/reader.h"
#include "spec/spec.h"

namespace loom::spec {
namespace {

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<uint64_t> ParseUnsigned(std::string_view s, uint64_t max) {
  if (!IsDigits(s)) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

struct Unit {
  std::string_view name;
  int64_t factor;
};

// Splits "128MiB" into 128 and "MiB"; false if there is no leading number.
bool SplitNumberUnit(std::string_view text, uint64_t* number, std::string_view* unit) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  auto n = ParseUnsigned(text.substr(0, i), std::numeric_limits<int64_t>::max());
  if (!n) return false;
  *number = *n;
  *unit = text.substr(i);
  return true;
}

std::optional<int64_t> Scaled(uint64_t n, std::string_view unit, const std::vector<Unit>& units) {
  for (const Unit& u : units) {
    if (u.name != unit) continue;
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / u.factor)) {
      return std::nullopt;
    }
    return static_cast<int64_t>(n) * u.factor;
  }
  return std::nullopt;
}

std::string FormatUnits(int64_t v, const std::vector<Unit>& units) {
  for (const Unit& u : units) {  // largest first
    if (v != 0 && v % u.factor == 0) return std::to_string(v / u.factor) + std::string(u.name);
  }
  return std::to_string(v) + std::string(units.back().name);
}

const std::vector<Unit>& DurationUnits() {
  static const std::vector<Unit> units = {{"w", 7 * 86400000LL}, {"d", 86400000LL},
                                          {"h", 3600000LL},      {"m", 60000LL},
                                          {"s", 1000LL},         {"ms", 1LL}};
  return units;
}

const std::vector<Unit>& ByteUnits() {
  static const std::vector<Unit> units = {
      {"TiB", 1LL << 40}, {"GiB", 1LL << 30}, {"MiB", 1LL << 20}, {"KiB", 1LL << 10}, {"B", 1}};
  return units;
}

}  // namespace

std::string Diagnostic::ToString() const {
  std::string out =
      pos.file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

Result<SemVer> SemVer::Parse(std::string_view text) {
  const std::string bad = "'" + std::string(text.substr(0, 100)) +
                          "' is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.0.0)";
  if (text.find('+') != std::string_view::npos) {
    return InvalidArgument("'" + std::string(text.substr(0, 100)) +
                           "': build metadata ('+...') is not supported in versions");
  }
  SemVer v;
  std::string_view core = text;
  if (size_t dash = text.find('-'); dash != std::string_view::npos) {
    core = text.substr(0, dash);
    std::string_view pre = text.substr(dash + 1);
    if (pre.empty()) return InvalidArgument(bad);
    size_t start = 0;
    while (true) {
      size_t dot = pre.find('.', start);
      std::string_view id =
          pre.substr(start, dot == std::string_view::npos ? pre.npos : dot - start);
      if (id.empty()) return InvalidArgument(bad);
      for (char c : id) {
        bool ok =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
        if (!ok) return InvalidArgument(bad);
      }
      if (IsDigits(id) && id.size() > 1 && id[0] == '0') return InvalidArgument(bad);
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    v.prerelease = std::string(pre);
  }
  uint32_t* parts[3] = {&v.major, &v.minor, &v.patch};
  size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    size_t dot = core.find('.', start);
    if ((i < 2) == (dot == std::string_view::npos)) return InvalidArgument(bad);
    std::string_view num = core.substr(start, i < 2 ? dot - start : core.npos);
    if (num.size() > 1 && num[0] == '0') return InvalidArgument(bad);
    auto n = ParseUnsigned(num, std::numeric_limits<uint32_t>::max());
    if (!n) return InvalidArgument(bad);
    *parts[i] = static_cast<uint32_t>(*n);
    start = dot + 1;
  }
  return v;
}

std::string SemVer::ToString() const {
  std::string s = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  if (!prerelease.empty()) s += "-" + prerelease;
  return s;
}

std::strong_ordering SemVer::operator<=>(const SemVer& o) const {
  if (auto c = std::tie(major, minor, patch) <=> std::tie(o.major, o.minor, o.patch); c != 0) {
    return c;
  }
  // A release ranks above its pre-releases; identifiers compare numerically when both are numbers.
  if (prerelease.empty() || o.prerelease.empty()) {
    return prerelease.empty() <=> o.prerelease.empty();
  }
  std::string_view a = prerelease, b = o.prerelease;
  while (true) {
    size_t da = a.find('.'), db = b.find('.');
    std::string_view ia = a.substr(0, da), ib = b.substr(0, db);
    bool na = IsDigits(ia), nb = IsDigits(ib);
    std::strong_ordering c = std::strong_ordering::equal;
    if (na && nb) {
      c = ia.size() != ib.size() ? ia.size() <=> ib.size() : ia.compare(ib) <=> 0;
    } else if (na != nb) {
      c = na ? std::strong_ordering::less : std::strong_ordering::greater;
    } else {
      c = ia.compare(ib) <=> 0;
    }
    if (c != 0) return c;
    if (da == std::string_view::npos || db == std::string_view::npos) {
      return (da == std::string_view::npos ? 0 : 1) <=> (db == std::string_view::npos ? 0 : 1);
    }
    a = a.substr(da + 1);
    b = b.substr(db + 1);
  }
}

Result<int64_t> ParseDurationMs(std::string_view text) {
  uint64_t n = 0;
  std::string_view unit;
  if (SplitNumberUnit(text, &n, &unit)) {
    if (auto v = Scaled(n, unit, DurationUnits())) return *v;
  }
  return InvalidArgument("'" + std::string(text.substr(0, 100)) +
                         "' is not a duration (expected a whole number and a unit ms, s, m, h, d "
                         "or w, e.g. 5m)");
}

std::string FormatDurationMs(int64_t ms) {
  static const std::vector<Unit> units(DurationUnits().begin() + 1, DurationUnits().end());
  return FormatUnits(ms, units);  // weeks are left out: "14d" reads better than "2w"
}

Result<int64_t> ParseBytes(std::string_view text) {
  uint64_t n = 0;
  std::string_view unit;
  std::string hint;
  if (SplitNumberUnit(text, &n, &unit)) {
    if (auto v = Scaled(n, unit, ByteUnits())) return *v;
    for (std::string_view si : {"KB", "MB", "GB", "TB", "kB", "K", "M", "G", "T"}) {
      if (unit == si) {
        hint = " (did you mean '" + std::to_string(n) + std::string(1, si[0] == 'k' ? 'K' : si[0]) +
               "iB'?)";
      }
    }
  }
  if (!hint.empty()) {
    return InvalidArgument("'" + std::string(text) + "' is not a size" + hint);
  }
  return InvalidArgument("'" + std::string(text.substr(0, 100)) +
                         "' is not a size (expected a whole number and a unit B, KiB, MiB, GiB "
                         "or TiB, e.g. 128MiB)");
}

std::string FormatBytes(int64_t bytes) { return FormatUnits(bytes, ByteUnits()); }

std::string PrincipalProblem(std::string_view principal) {
  return internal::PrincipalProblemText(principal);
}

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kDomain:
      return "Domain";
    case Kind::kDataProduct:
      return "DataProduct";
    case Kind::kPolicy:
      return "Policy";
  }
  return "DataProduct";
}

std::string Document::Key() const {
  if (const Domain* d = domain()) return "domain:" + d->name;
  if (const Policy* p = policy()) return "policy:" + p->name;
  const DataProduct& p = std::get<DataProduct>(body);
  return "product:" + p.domain + "/" + p.name;
}

const Field* Schema::Find(std::string_view name) const {
  for (const Field& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const OutputPort* DataProduct::FindPort(std::string_view port) const {
  for (const OutputPort& p : output_ports) {
    if (p.name == port) return &p;
  }
  return nullptr;
}

std::string_view ToString(Classification c) {
  static constexpr std::string_view k[] = {"public", "internal", "confidential", "restricted"};
  return k[static_cast<size_t>(c)];
}
std::string_view ToString(Alignment a) {
  static constexpr std::string_view k[] = {"source", "consumer", "shared"};
  return k[static_cast<size_t>(a)];
}
std::string_view ToString(PortKind k) { return k == PortKind::kStream ? "stream" : "table"; }
std::string_view ToString(Permission p) {
  static constexpr std::string_view k[] = {"read", "write", "unmask"};
  return k[static_cast<size_t>(p)];
}
std::string_view ToString(MaskMethod m) {
  static constexpr std::string_view k[] = {"none",     "redact",   "hash",
                                           "tokenize", "truncate", "null"};
  return k[static_cast<size_t>(m)];
}
std::string_view ToString(SloKind k) {
  static constexpr std::string_view n[] = {"freshness", "completeness", "validity", "availability",
                                           "timeliness"};
  return n[static_cast<size_t>(k)];
}
std::string_view ToString(Severity s) { return s == Severity::kBlock ? "block" : "warn"; }
std::string_view ToString(FsyncPolicy f) {
  static constexpr std::string_view k[] = {"always", "interval", "never"};
  return k[static_cast<size_t>(f)];
}
std::string_view ToString(OnInvalid o) { return o == OnInvalid::kReject ? "reject" : "quarantine"; }
std::string_view ToString(Compression c) { return c == Compression::kNone ? "none" : "zstd"; }
std::string_view ToString(SnapshotInterval i) {
  static constexpr std::string_view k[] = {"hourly", "daily", "monthly"};
  return k[static_cast<size_t>(i)];
}
std::string_view ToString(TransformMode m) {
  return m == TransformMode::kBatch ? "batch" : "streaming";
}

}  // namespace loom::spec
