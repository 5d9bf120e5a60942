// Global types resolved into a product's fields, and every policy rule evaluated on it.

#include <algorithm>

#include "governance/rules.h"

namespace loom::governance {
namespace {

std::string FieldsPath(const std::string& parent) {
  return parent.empty() ? "spec.schema.fields" : parent + ".fields";
}

// The struct whose members a field type holds: struct itself or list<...<struct>>.
const spec::FieldType* StructOf(const spec::FieldType& t) {
  const spec::FieldType* p = &t;
  while (p->kind == spec::TypeKind::kList && !p->element.empty()) p = &p->element[0];
  return p->kind == spec::TypeKind::kStruct ? p : nullptr;
}
spec::FieldType* StructOf(spec::FieldType& t) {
  return const_cast<spec::FieldType*>(StructOf(static_cast<const spec::FieldType&>(t)));
}

// Calls fn(field, path) for every field at any depth, parents first.
template <typename F, typename Fields>
void ForEachField(Fields& fields, const std::string& parent, F&& fn) {
  for (size_t i = 0; i < fields.size(); ++i) {
    auto& f = fields[i];
    const std::string path = FieldsPath(parent) + "[" + std::to_string(i) + "]";
    fn(f, path);
    if (auto* s = StructOf(f.type)) ForEachField(s->fields, path, fn);
  }
}

std::string Names(const PolicySet& policies) {
  std::string out;
  for (const DefinedType& t : policies.types()) out += (out.empty() ? "" : ", ") + t.type.name;
  return out.empty() ? "none is defined" : "known: " + out;
}

std::string ConstraintText(const std::optional<double>& v) {
  if (!v) return "none";
  std::string s = std::to_string(*v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void ResolveField(const PolicySet& policies, spec::Field& f, const std::string& path,
                  std::vector<Violation>& out) {
  if (!f.global_type) return;
  const DefinedType* def = policies.FindType(*f.global_type);
  if (def == nullptr) {
    out.push_back({f.pos, path + ".globalType", "global types",
                   "field '" + f.name + "' declares unknown global type '" + *f.global_type +
                       "' (" + Names(policies) + ")"});
    return;
  }
  const spec::GlobalType& g = def->type;
  const std::string rule = "policy '" + def->policy + "' global type " + g.name;
  auto conflict = [&](const std::string& key, const std::string& message) {
    out.push_back({f.pos, path + "." + key, rule, message});
  };
  if (f.inherits_type) {
    f.type = g.type;
  } else if (f.type.ToString() != g.type.ToString()) {
    conflict("type", "field '" + f.name + "' declares type " + f.type.ToString() +
                         " but global type " + g.name + " is " + g.type.ToString() +
                         " (leave 'type' out to inherit it)");
  }
  spec::Constraints& c = f.constraints;
  const spec::Constraints& gc = g.constraints;
  if (gc.pattern) {
    if (!c.pattern) {
      c.pattern = gc.pattern;
    } else if (*c.pattern != *gc.pattern) {
      conflict("constraints.pattern", "field '" + f.name + "' declares pattern '" + *c.pattern +
                                          "' but global type " + g.name + " has '" + *gc.pattern +
                                          "'");
    }
  }
  if (!gc.enum_values.empty()) {
    if (c.enum_values.empty()) {
      c.enum_values = gc.enum_values;
    } else if (c.enum_values != gc.enum_values) {
      conflict("constraints.enum",
               "field '" + f.name + "' declares other accepted values than global type " + g.name);
    }
  }
  auto bound = [&](std::optional<double>& mine, const std::optional<double>& theirs,
                   const std::string& key) {
    if (!theirs) return;
    if (!mine) {
      mine = theirs;
    } else if (*mine != *theirs) {
      conflict("constraints." + key, "field '" + f.name + "' declares " + key + " " +
                                         ConstraintText(mine) + " but global type " + g.name +
                                         " has " + ConstraintText(theirs));
    }
  };
  bound(c.minimum, gc.minimum, "min");
  bound(c.maximum, gc.maximum, "max");
  auto length = [&](std::optional<int64_t>& mine, const std::optional<int64_t>& theirs,
                    const std::string& key) {
    if (!theirs) return;
    if (!mine) {
      mine = theirs;
    } else if (*mine != *theirs) {
      conflict("constraints." + key, "field '" + f.name + "' declares " + key + " " +
                                         std::to_string(*mine) + " but global type " + g.name +
                                         " has " + std::to_string(*theirs));
    }
  };
  length(c.min_length, gc.min_length, "minLength");
  length(c.max_length, gc.max_length, "maxLength");
  if (f.description.empty()) f.description = g.description;
}

// What one rule finds on a product.
class RuleCheck {
 public:
  RuleCheck(const CompiledRule& rule, const spec::DataProduct& p, const spec::SourcePos& doc_pos,
            std::vector<Violation>& out)
      : rule_(rule), p_(p), doc_pos_(doc_pos), out_(out) {}

  void Add(const spec::SourcePos& pos, const std::string& path, const std::string& message) {
    out_.push_back({pos.line > 0 ? pos : doc_pos_, path, rule_.label, message});
  }
  void Product(const std::string& path, const std::string& message) {
    Add(doc_pos_, path, "product " + p_.domain + "/" + p_.name + ": " + message);
  }

  void RequiredMetadata() {
    for (const std::string& what : rule_.require) {
      if (what == "title" && p_.title.empty()) Product("metadata.title", "has no title");
      if (what == "description" && p_.description.empty()) {
        Product("metadata.description", "has no description");
      }
      if (what == "owner" && p_.owner.empty()) Product("metadata.owner", "has no owner");
      if (what == "tags" && p_.tags.empty()) Product("metadata.tags", "has no tags");
      if (what == "slos" && p_.slos.empty()) Product("spec.slos", "declares no SLOs");
      if (what == "quality" && p_.expectations.empty()) {
        Product("spec.quality", "declares no quality expectations");
      }
      if (what == "fieldDescriptions") {
        ForEachField(p_.schema.fields, "", [&](const spec::Field& f, const std::string& path) {
          if (f.description.empty()) {
            Add(f.pos, path + ".description", "field '" + f.name + "' has no description");
          }
        });
      }
      if (what == "portDescriptions") {
        for (size_t i = 0; i < p_.output_ports.size(); ++i) {
          const spec::OutputPort& port = p_.output_ports[i];
          if (port.description.empty()) {
            Add(port.pos, "spec.outputPorts[" + std::to_string(i) + "].description",
                "output port '" + port.name + "' has no description");
          }
        }
      }
    }
  }

  void Naming() {
    if (rule_.product_names && !rule_.product_names->Matches(p_.name)) {
      Product("metadata.name", "name '" + p_.name + "' does not match the naming pattern '" +
                                   rule_.product_names->text + "'");
    }
    if (rule_.field_names) {
      ForEachField(p_.schema.fields, "", [&](const spec::Field& f, const std::string& path) {
        if (!rule_.field_names->Matches(f.name)) {
          Add(f.pos, path + ".name",
              "field name '" + f.name + "' does not match the naming pattern '" +
                  rule_.field_names->text + "'");
        }
      });
    }
    if (rule_.port_names) {
      for (size_t i = 0; i < p_.output_ports.size(); ++i) {
        const spec::OutputPort& port = p_.output_ports[i];
        if (!rule_.port_names->Matches(port.name)) {
          Add(port.pos, "spec.outputPorts[" + std::to_string(i) + "].name",
              "port name '" + port.name + "' does not match the naming pattern '" +
                  rule_.port_names->text + "'");
        }
      }
    }
  }

  void PiiField(const spec::Field& f, const std::string& path, bool explicit_masks) {
    if (!f.pii) return;
    if ((rule_.pii_mask_required || explicit_masks) && !f.mask_declared) {
      Add(f.pos, path + ".mask",
          "pii field '" + f.name + "' declares no mask method (add mask: redact | hash | " +
              "tokenize | truncate | null)");
    } else if (!rule_.pii_allowed_masks.empty() &&
               std::find(rule_.pii_allowed_masks.begin(), rule_.pii_allowed_masks.end(), f.mask) ==
                   rule_.pii_allowed_masks.end()) {
      std::string allowed;
      for (spec::MaskMethod m : rule_.pii_allowed_masks) {
        allowed += (allowed.empty() ? "" : ", ") + std::string(spec::ToString(m));
      }
      Add(f.pos, path + ".mask",
          "pii field '" + f.name + "' is masked by " + std::string(spec::ToString(f.mask)) +
              ", which is not allowed (allowed: " + allowed + ")");
    }
  }

  void ClassificationControls() {
    bool has_pii = false;
    ForEachField(p_.schema.fields, "", [&](const spec::Field& f, const std::string& path) {
      has_pii = has_pii || f.pii;
      PiiField(f, path, false);
    });
    if (has_pii && rule_.pii_min_classification &&
        p_.classification < *rule_.pii_min_classification) {
      Product("spec.classification",
              "holds pii fields, so it must be classified at least " +
                  std::string(spec::ToString(*rule_.pii_min_classification)) + " (it is " +
                  std::string(spec::ToString(p_.classification)) + ")");
    }
    auto it = rule_.controls.find(p_.classification);
    if (it == rule_.controls.end()) return;
    const std::string level(spec::ToString(p_.classification));
    for (const std::string& control : it->second) {
      if (control == "accessRule" && p_.access.empty()) {
        Product("spec.access", "is " + level + ", so it must declare at least one access rule");
      } else if (control == "quality" && p_.expectations.empty()) {
        Product("spec.quality", "is " + level + ", so it must declare quality expectations");
      } else if (control == "explicitMasks") {
        ForEachField(p_.schema.fields, "", [&](const spec::Field& f, const std::string& path) {
          if (f.pii && !f.mask_declared) {
            Add(f.pos, path + ".mask",
                "pii field '" + f.name + "' of a " + level +
                    " product declares no mask method (add mask: redact | hash | tokenize | "
                    "truncate | null)");
          }
        });
      } else if (control == "rowFilter" || control == "noUnmask") {
        for (size_t i = 0; i < p_.access.size(); ++i) {
          const spec::AccessRule& a = p_.access[i];
          const std::string path = "spec.access[" + std::to_string(i) + "]";
          auto grants = [&](spec::Permission perm) {
            return std::find(a.permissions.begin(), a.permissions.end(), perm) !=
                   a.permissions.end();
          };
          if (control == "rowFilter" && grants(spec::Permission::kRead) && !a.row_filter) {
            Add(a.pos, path + ".rowFilter",
                "access rule for " + a.principal + " grants read on a " + level +
                    " product without a row filter");
          }
          if (control == "noUnmask" && grants(spec::Permission::kUnmask)) {
            Add(a.pos, path + ".permissions",
                "access rule for " + a.principal + " grants unmask on a " + level + " product");
          }
        }
      }
    }
  }

  void Envelope() {
    for (size_t i = 0; i < p_.output_ports.size(); ++i) {
      const spec::OutputPort& port = p_.output_ports[i];
      if (port.kind != spec::PortKind::kStream) continue;
      const std::string path = "spec.outputPorts[" + std::to_string(i) + "].stream";
      const std::string who = "stream port '" + port.name + "'";
      if (rule_.event_type_required && port.stream.event_type.empty()) {
        Add(port.pos, path + ".eventType", who + " declares no event type (stream.eventType)");
      }
      if (rule_.event_type_pattern && !port.stream.event_type.empty() &&
          !rule_.event_type_pattern->Matches(port.stream.event_type)) {
        Add(port.pos, path + ".eventType",
            who + " event type '" + port.stream.event_type + "' does not match '" +
                rule_.event_type_pattern->text + "'");
      }
      if (rule_.event_time_required && !port.stream.event_time) {
        Add(port.pos, path + ".eventTime",
            who + " declares no event time field (stream.eventTime)");
      }
      if (rule_.partition_key_required && port.stream.partition_key.empty()) {
        Add(port.pos, path + ".partitionKey",
            who + " declares no partition key (stream.partitionKey)");
      }
    }
  }

 private:
  const CompiledRule& rule_;
  const spec::DataProduct& p_;
  const spec::SourcePos& doc_pos_;
  std::vector<Violation>& out_;
};

}  // namespace

std::string Violation::ToString() const {
  std::string out = spec::Diagnostic{pos, path, message}.ToString();
  if (!rule.empty()) out += " [" + rule + "]";
  return out;
}

std::string Join(const std::vector<Violation>& violations) {
  std::string out;
  for (const Violation& v : violations) out += (out.empty() ? "" : "\n") + v.ToString();
  return out;
}

std::vector<Violation> ResolveGlobalTypes(const PolicySet& policies, spec::DataProduct& product) {
  std::vector<Violation> out;
  ForEachField(product.schema.fields, "", [&](spec::Field& f, const std::string& path) {
    ResolveField(policies, f, path, out);
  });
  return out;
}

std::vector<Violation> Evaluate(const PolicySet& policies, const spec::DataProduct& product,
                                const spec::SourcePos& doc_pos) {
  std::vector<Violation> out;
  for (const std::unique_ptr<CompiledRule>& rule : policies.rules()) {
    if (!rule->AppliesTo(product)) continue;
    RuleCheck check(*rule, product, doc_pos, out);
    switch (rule->kind) {
      case RuleKind::kRequiredMetadata:
        check.RequiredMetadata();
        break;
      case RuleKind::kNaming:
        check.Naming();
        break;
      case RuleKind::kClassificationControls:
        check.ClassificationControls();
        break;
      case RuleKind::kEnvelope:
        check.Envelope();
        break;
    }
  }
  return out;
}

std::vector<Violation> Check(const PolicySet& policies, spec::DataProduct& product,
                             const spec::SourcePos& doc_pos) {
  std::vector<Violation> out = ResolveGlobalTypes(policies, product);
  std::vector<Violation> rules = Evaluate(policies, product, doc_pos);
  out.insert(out.end(), rules.begin(), rules.end());
  std::stable_sort(out.begin(), out.end(), [](const Violation& a, const Violation& b) {
    if (a.pos.file != b.pos.file) return a.pos.file < b.pos.file;
    return a.pos.line < b.pos.line;
  });
  return out;
}

}  // namespace loom::governance
