// Versioning and evolution: two versions of a product compared, each difference classified by
// what it does to consumers and producers, and the version bump it needs.

#include <algorithm>
#include <map>
#include <set>

#include "governance/governance.h"

namespace loom::governance {
namespace {

using spec::TypeKind;

int IntegerRank(TypeKind k) {
  switch (k) {
    case TypeKind::kInt32:
      return 1;
    case TypeKind::kInt64:
      return 2;
    default:
      return 0;
  }
}

// Whether every value of `from` is a value of `to` (a reader of `to` reads old data).
bool Widens(const spec::FieldType& from, const spec::FieldType& to) {
  if (IntegerRank(from.kind) && IntegerRank(to.kind)) {
    return IntegerRank(from.kind) < IntegerRank(to.kind);
  }
  if (from.kind == TypeKind::kInt32 && to.kind == TypeKind::kDouble) return true;
  if (IntegerRank(from.kind) && to.kind == TypeKind::kDecimal) {
    return to.precision - to.scale >= (from.kind == TypeKind::kInt32 ? 10 : 19);
  }
  if (from.kind == TypeKind::kDecimal && to.kind == TypeKind::kDecimal) {
    return to.scale >= from.scale && to.precision - to.scale >= from.precision - from.scale;
  }
  if (from.kind == TypeKind::kDate && to.kind == TypeKind::kTimestamp) return true;
  return false;
}

class Differ {
 public:
  std::vector<SchemaChange> out;

  void Add(Impact impact, std::string kind, std::string path, std::string detail) {
    out.push_back({impact, std::move(kind), std::move(path), std::move(detail)});
  }

  void Fields(const std::vector<spec::Field>& from, const std::vector<spec::Field>& to,
              const std::string& parent) {
    std::map<std::string, const spec::Field*> old_by_name, new_by_name;
    for (const spec::Field& f : from) old_by_name[f.name] = &f;
    for (const spec::Field& f : to) new_by_name[f.name] = &f;
    std::vector<const spec::Field*> removed, added;
    for (const spec::Field& f : from) {
      if (!new_by_name.count(f.name)) removed.push_back(&f);
    }
    for (const spec::Field& f : to) {
      if (!old_by_name.count(f.name)) added.push_back(&f);
    }
    // A removed field and an added one of the same type and global type, at the same place in
    // the list, is a rename: consumers still break, but the change says what happened.
    std::set<const spec::Field*> renamed_to;
    for (const spec::Field* r : removed) {
      const spec::Field* match = nullptr;
      size_t ri = static_cast<size_t>(r - from.data());
      for (const spec::Field* a : added) {
        size_t ai = static_cast<size_t>(a - to.data());
        if (ai == ri && a->type.ToString() == r->type.ToString() &&
            a->global_type == r->global_type && !renamed_to.count(a)) {
          match = a;
        }
      }
      if (match != nullptr) {
        renamed_to.insert(match);
        Add(Impact::kBreaking, "field renamed", parent + "." + r->name,
            r->name + " -> " + match->name);
      } else {
        Add(Impact::kBreaking, "field removed", parent + "." + r->name,
            "consumers reading '" + r->name + "' break");
      }
    }
    for (const spec::Field* a : added) {
      if (renamed_to.count(a)) continue;
      if (a->required) {
        Add(Impact::kBreaking, "required field added", parent + "." + a->name,
            "producers must now send '" + a->name + "' (" + a->type.ToString() + ")");
      } else {
        Add(Impact::kCompatible, "optional field added", parent + "." + a->name,
            a->type.ToString());
      }
    }
    for (const spec::Field& f : from) {
      auto it = new_by_name.find(f.name);
      if (it != new_by_name.end()) Field(f, *it->second, parent + "." + f.name);
    }
  }

  void Type(const spec::FieldType& a, const spec::FieldType& b, const std::string& path) {
    if (a.kind == TypeKind::kList && b.kind == TypeKind::kList && !a.element.empty() &&
        !b.element.empty()) {
      Type(a.element[0], b.element[0], path + "[]");
      return;
    }
    if (a.kind == TypeKind::kStruct && b.kind == TypeKind::kStruct) {
      Fields(a.fields, b.fields, path);
      return;
    }
    const std::string from = a.ToString(), to = b.ToString();
    if (from == to) return;
    if (Widens(a, b)) {
      Add(Impact::kCompatible, "type widened", path, from + " -> " + to);
    } else if (Widens(b, a)) {
      Add(Impact::kBreaking, "type narrowed", path, from + " -> " + to);
    } else {
      Add(Impact::kBreaking, "type changed", path, from + " -> " + to);
    }
  }

  void Field(const spec::Field& a, const spec::Field& b, const std::string& path) {
    Type(a.type, b.type, path);
    if (a.global_type != b.global_type) {
      Add(Impact::kBreaking, "global type changed", path + ".globalType",
          a.global_type.value_or("none") + " -> " + b.global_type.value_or("none"));
    }
    if (!a.required && b.required) {
      Add(Impact::kBreaking, "field made required", path, "producers must now send it");
    } else if (a.required && !b.required) {
      Add(Impact::kBreaking, "field made optional", path, "consumers may now read nulls");
    }
    if (a.primary_key != b.primary_key) {
      Add(Impact::kBreaking, "primary key changed", path,
          std::string(a.primary_key ? "was" : "was not") + " part of the primary key");
    }
    if (a.pii != b.pii || a.mask != b.mask) {
      Add(Impact::kCompatible, "masking changed", path,
          std::string(spec::ToString(a.mask)) + " -> " + std::string(spec::ToString(b.mask)));
    }
    Constraints(a.constraints, b.constraints, path + ".constraints");
    if (a.description != b.description) {
      Add(Impact::kCompatible, "description changed", path + ".description", "");
    }
  }

  void Constraints(const spec::Constraints& a, const spec::Constraints& b,
                   const std::string& path) {
    if (a.pattern != b.pattern) {
      Add(b.pattern ? Impact::kBreaking : Impact::kCompatible,
          b.pattern ? "pattern changed" : "pattern removed", path + ".pattern",
          "'" + a.pattern.value_or("") + "' -> '" + b.pattern.value_or("") + "'");
    }
    if (a.enum_values != b.enum_values) {
      std::set<std::string> now(b.enum_values.begin(), b.enum_values.end());
      bool dropped = b.enum_values.empty()
                         ? false
                         : std::any_of(a.enum_values.begin(), a.enum_values.end(),
                                       [&](const std::string& v) { return !now.count(v); }) ||
                               a.enum_values.empty();
      Add(dropped ? Impact::kBreaking : Impact::kCompatible,
          dropped ? "accepted values narrowed" : "accepted values widened", path + ".enum", "");
    }
    auto bound = [&](const auto& x, const auto& y, const std::string& key, bool is_min) {
      if (x == y) return;
      // Tighter: a bound appears, or a min rises, or a max falls.
      bool tighter = !x || (y && (is_min ? *y > *x : *y < *x));
      Add(tighter ? Impact::kBreaking : Impact::kCompatible,
          tighter ? "constraint tightened" : "constraint loosened", path + "." + key, "");
    };
    bound(a.minimum, b.minimum, "min", true);
    bound(a.maximum, b.maximum, "max", false);
    bound(a.min_length, b.min_length, "minLength", true);
    bound(a.max_length, b.max_length, "maxLength", false);
  }

  void Ports(const spec::DataProduct& a, const spec::DataProduct& b) {
    for (const spec::OutputPort& p : a.output_ports) {
      const spec::OutputPort* q = b.FindPort(p.name);
      const std::string path = "spec.outputPorts." + p.name;
      if (q == nullptr) {
        Add(Impact::kBreaking, "port removed", path, "consumers of " + p.name + " break");
        continue;
      }
      if (p.kind != q->kind) {
        Add(Impact::kBreaking, "port kind changed", path,
            std::string(spec::ToString(p.kind)) + " -> " + std::string(spec::ToString(q->kind)));
        continue;
      }
      if (p.kind == spec::PortKind::kStream) {
        if (p.stream.event_type != q->stream.event_type) {
          Add(Impact::kBreaking, "event type changed", path + ".stream.eventType",
              "'" + p.stream.event_type + "' -> '" + q->stream.event_type + "'");
        }
        if (p.stream.event_time != q->stream.event_time) {
          Add(Impact::kBreaking, "event time changed", path + ".stream.eventTime",
              p.stream.event_time.value_or("time") + " -> " +
                  q->stream.event_time.value_or("time"));
        }
        if (p.stream.partition_key != q->stream.partition_key ||
            p.stream.partitions != q->stream.partitions) {
          Add(Impact::kCompatible, "partitioning changed", path + ".stream", "");
        }
      }
      if (p.description != q->description) {
        Add(Impact::kCompatible, "description changed", path + ".description", "");
      }
    }
    for (const spec::OutputPort& q : b.output_ports) {
      if (a.FindPort(q.name) == nullptr) {
        Add(Impact::kCompatible, "port added", "spec.outputPorts." + q.name,
            std::string(spec::ToString(q.kind)));
      }
    }
  }

  void Metadata(const spec::DataProduct& a, const spec::DataProduct& b) {
    if (a.classification != b.classification) {
      bool tighter = b.classification > a.classification;
      Add(tighter ? Impact::kBreaking : Impact::kCompatible, "classification changed",
          "spec.classification",
          std::string(spec::ToString(a.classification)) + " -> " +
              std::string(spec::ToString(b.classification)));
    }
    auto same = [&](bool equal, const std::string& kind, const std::string& path) {
      if (!equal) Add(Impact::kCompatible, kind, path, "");
    };
    same(a.title == b.title, "title changed", "metadata.title");
    same(a.description == b.description, "description changed", "metadata.description");
    same(a.owner == b.owner, "owner changed", "metadata.owner");
    same(a.tags == b.tags, "tags changed", "metadata.tags");
    same(a.alignment == b.alignment, "alignment changed", "spec.alignment");
    same(a.deprecated == b.deprecated, "deprecation changed", "spec.deprecated");
    same(spec::ToJson(Only(a, &spec::DataProduct::slos)) ==
             spec::ToJson(Only(b, &spec::DataProduct::slos)),
         "SLOs changed", "spec.slos");
    same(spec::ToJson(Only(a, &spec::DataProduct::expectations)) ==
             spec::ToJson(Only(b, &spec::DataProduct::expectations)),
         "quality expectations changed", "spec.quality");
    same(spec::ToJson(Only(a, &spec::DataProduct::access)) ==
             spec::ToJson(Only(b, &spec::DataProduct::access)),
         "access rules changed", "spec.access");
    same(spec::ToJson(Only(a, &spec::DataProduct::input_ports)) ==
             spec::ToJson(Only(b, &spec::DataProduct::input_ports)),
         "input ports changed", "spec.inputPorts");
    if (spec::ToJson(Only(a, &spec::DataProduct::transform)) !=
        spec::ToJson(Only(b, &spec::DataProduct::transform))) {
      Add(Impact::kPatch, "transform changed", "spec.transform", "");
    }
  }

  // A product with only the member `m` of `p` (so ToJson compares that member alone, without
  // source positions).
  template <typename M>
  static spec::DataProduct Only(const spec::DataProduct& p, M spec::DataProduct::*m) {
    spec::DataProduct q;
    q.*m = p.*m;
    return q;
  }
};

}  // namespace

std::string_view ToString(Impact impact) {
  switch (impact) {
    case Impact::kPatch:
      return "patch";
    case Impact::kCompatible:
      return "compatible";
    case Impact::kBreaking:
      return "breaking";
  }
  return "breaking";
}

std::string SchemaChange::ToString() const {
  std::string out = std::string(governance::ToString(impact)) + ": " + kind + " " + path;
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

std::vector<SchemaChange> Compare(const spec::DataProduct& from, const spec::DataProduct& to) {
  Differ d;
  d.Metadata(from, to);
  d.Fields(from.schema.fields, to.schema.fields, "spec.schema.fields");
  d.Ports(from, to);
  std::stable_sort(d.out.begin(), d.out.end(), [](const SchemaChange& a, const SchemaChange& b) {
    return a.impact > b.impact;
  });
  return d.out;
}

Impact Strongest(const std::vector<SchemaChange>& changes) {
  Impact out = Impact::kPatch;
  for (const SchemaChange& c : changes) out = std::max(out, c.impact);
  return out;
}

Status CheckVersionBump(const spec::SemVer& from, const spec::SemVer& to,
                        const std::vector<SchemaChange>& changes) {
  const Impact impact = Strongest(changes);
  const bool new_major = to.major > from.major;
  const bool new_minor = new_major || (to.major == from.major && to.minor > from.minor);
  std::string needed;
  if (impact == Impact::kBreaking && from.major > 0 && !new_major) {
    needed = "a new major version (" + std::to_string(from.major + 1) + ".0.0)";
  } else if (impact == Impact::kBreaking && from.major == 0 && !new_minor) {
    needed =
        "at least a new minor version before 1.0.0 (0." + std::to_string(from.minor + 1) + ".0)";
  } else if (impact == Impact::kCompatible && !new_minor) {
    needed = "at least a new minor version (" + std::to_string(from.major) + "." +
             std::to_string(from.minor + 1) + ".0)";
  }
  if (needed.empty()) return Status::Ok();
  std::string message = "version " + to.ToString() + " after " + from.ToString() + " holds " +
                        std::string(ToString(impact)) + " changes, which need " + needed + ":";
  for (const SchemaChange& c : changes) {
    if (c.impact != Impact::kPatch) message += "\n  " + c.ToString();
  }
  return FailedPrecondition(message);
}

std::vector<TypeChange> CompareGlobalTypes(const PolicySet& from, const PolicySet& to) {
  std::vector<TypeChange> out;
  for (const DefinedType& a : from.types()) {
    const DefinedType* b = to.FindType(a.type.name);
    if (b == nullptr) {
      out.push_back({a.type.name, "removed"});
      continue;
    }
    if (a.type.type.ToString() != b->type.type.ToString()) {
      out.push_back(
          {a.type.name, "type " + a.type.type.ToString() + " -> " + b->type.type.ToString()});
    }
    const spec::Constraints& x = a.type.constraints;
    const spec::Constraints& y = b->type.constraints;
    if (x.pattern != y.pattern) {
      out.push_back({a.type.name, "pattern '" + x.pattern.value_or("") + "' -> '" +
                                      y.pattern.value_or("") + "'"});
    }
    if (x.enum_values != y.enum_values || x.minimum != y.minimum || x.maximum != y.maximum ||
        x.min_length != y.min_length || x.max_length != y.max_length) {
      out.push_back({a.type.name, "constraints changed"});
    }
  }
  return out;
}

}  // namespace loom::governance
