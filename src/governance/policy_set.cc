// PolicySet::Build: every Policy's global types gathered, every rule's parameters checked and
// compiled, with one diagnostic per problem.

#include <algorithm>
#include <map>
#include <set>

#include "governance/rules.h"

namespace loom::governance {
namespace {

using nlohmann::json;

std::string Quote(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

// Reads one rule's parameters into a CompiledRule; reports problems to `errors`.
class RuleReader {
 public:
  RuleReader(const spec::PolicyRule& rule, std::string path, std::vector<std::string>* errors)
      : rule_(rule), path_(std::move(path)), errors_(errors) {}

  void Error(const std::string& key, const std::string& message) {
    errors_->push_back(
        spec::Diagnostic{rule_.pos, path_ + (key.empty() ? "" : "." + key), message}.ToString());
  }

  // Every parameter key must be one of `allowed` (plus the common ones).
  void AllowOnly(std::vector<std::string_view> allowed) {
    allowed.push_back("domains");
    allowed.push_back("classifications");
    allowed.push_back("description");
    for (auto it = rule_.parameters.begin(); it != rule_.parameters.end(); ++it) {
      if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
        Error(it.key(), "unknown parameter '" + it.key() + "' for a " + rule_.kind +
                            " rule (expected one of: " + Quote(allowed) + ")");
      }
    }
  }

  const json* Get(const std::string& key) const {
    auto it = rule_.parameters.find(key);
    return it == rule_.parameters.end() ? nullptr : &*it;
  }

  // A list of strings, each one of `accepted` when given.
  std::vector<std::string> Strings(const std::string& key,
                                   const std::vector<std::string_view>& accepted = {}) {
    std::vector<std::string> out;
    const json* v = Get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      Error(key, "expected a list");
      return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      const json& item = (*v)[i];
      const std::string at = key + "[" + std::to_string(i) + "]";
      if (!item.is_string()) {
        Error(at, "expected text");
        continue;
      }
      std::string s = item.get<std::string>();
      if (!accepted.empty() && std::find(accepted.begin(), accepted.end(), s) == accepted.end()) {
        Error(at, "unknown value '" + s + "' (expected one of: " + Quote(accepted) + ")");
        continue;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  std::optional<NamePattern> Pattern(const json* v, const std::string& key) {
    if (v == nullptr) return std::nullopt;
    if (!v->is_string() || v->get<std::string>().empty()) {
      Error(key, "expected a regular expression (text)");
      return std::nullopt;
    }
    std::string text = v->get<std::string>();
    try {
      return NamePattern{text, std::regex(text, std::regex::ECMAScript)};
    } catch (const std::regex_error& e) {
      Error(key, "'" + text + "' is not a valid regular expression: " + e.what());
      return std::nullopt;
    }
  }

  bool Required(const std::string& key) {
    const json* v = Get(key);
    if (v == nullptr) return false;
    if (v->is_string() && v->get<std::string>() == "required") return true;
    if (v->is_boolean()) return v->get<bool>();
    Error(key, "expected 'required' or a boolean");
    return false;
  }

 private:
  const spec::PolicyRule& rule_;
  std::string path_;
  std::vector<std::string>* errors_;
};

void ReadRequiredMetadata(RuleReader& r, CompiledRule& c) {
  r.AllowOnly({"require"});
  c.require = r.Strings("require", {"title", "description", "owner", "tags", "slos", "quality",
                                    "fieldDescriptions", "portDescriptions"});
  if (r.Get("require") == nullptr) r.Error("", "a required_metadata rule needs 'require'");
}

void ReadNaming(RuleReader& r, CompiledRule& c) {
  r.AllowOnly({"products", "fields", "ports"});
  c.product_names = r.Pattern(r.Get("products"), "products");
  c.field_names = r.Pattern(r.Get("fields"), "fields");
  c.port_names = r.Pattern(r.Get("ports"), "ports");
  if (!r.Get("products") && !r.Get("fields") && !r.Get("ports")) {
    r.Error("", "a naming rule needs at least one of 'products', 'fields', 'ports'");
  }
}

void ReadClassificationControls(RuleReader& r, CompiledRule& c) {
  r.AllowOnly({"pii", "controls"});
  if (const json* pii = r.Get("pii")) {
    if (!pii->is_object()) {
      r.Error("pii", "expected a map (mask, allowedMasks, minClassification)");
    } else {
      for (auto it = pii->begin(); it != pii->end(); ++it) {
        const std::string key = "pii." + it.key();
        if (it.key() == "mask") {
          if (it->is_string() && it->get<std::string>() == "required") {
            c.pii_mask_required = true;
          } else {
            r.Error(key, "expected 'required'");
          }
        } else if (it.key() == "allowedMasks" && it->is_array()) {
          for (const json& m : *it) {
            auto mask = m.is_string() ? ParseMask(m.get<std::string>()) : std::nullopt;
            if (!mask) {
              r.Error(key, "unknown mask " + m.dump() +
                               " (expected redact, hash, tokenize, truncate or null)");
            } else {
              c.pii_allowed_masks.push_back(*mask);
            }
          }
        } else if (it.key() == "minClassification") {
          auto cl = it->is_string() ? ParseClassification(it->get<std::string>()) : std::nullopt;
          if (!cl) {
            r.Error(key, "expected public, internal, confidential or restricted");
          } else {
            c.pii_min_classification = cl;
          }
        } else {
          r.Error(key, "unknown parameter '" + it.key() +
                           "' (expected mask, allowedMasks or minClassification)");
        }
      }
    }
  }
  if (const json* controls = r.Get("controls")) {
    if (!controls->is_object()) {
      r.Error("controls", "expected a map from a classification to a list of controls");
    } else {
      for (auto it = controls->begin(); it != controls->end(); ++it) {
        const std::string key = "controls." + it.key();
        auto cl = ParseClassification(it.key());
        if (!cl) {
          r.Error(key, "'" + it.key() +
                           "' is not a classification (expected public, internal, confidential "
                           "or restricted)");
          continue;
        }
        if (!it->is_array()) {
          r.Error(key, "expected a list of controls");
          continue;
        }
        static const std::vector<std::string_view> kControls = {
            "accessRule", "rowFilter", "noUnmask", "explicitMasks", "quality"};
        for (const json& ctl : *it) {
          std::string name = ctl.is_string() ? ctl.get<std::string>() : ctl.dump();
          if (std::find(kControls.begin(), kControls.end(), name) == kControls.end()) {
            r.Error(key,
                    "unknown control '" + name + "' (expected one of: " + Quote(kControls) + ")");
          } else {
            c.controls[*cl].push_back(name);
          }
        }
      }
    }
  }
  if (!r.Get("pii") && !r.Get("controls")) {
    r.Error("", "a classification_controls rule needs 'pii', 'controls' or both");
  }
}

void ReadEnvelope(RuleReader& r, CompiledRule& c) {
  r.AllowOnly({"eventType", "eventTime", "partitionKey", "eventTypePattern"});
  c.event_type_required = r.Required("eventType");
  c.event_time_required = r.Required("eventTime");
  c.partition_key_required = r.Required("partitionKey");
  c.event_type_pattern = r.Pattern(r.Get("eventTypePattern"), "eventTypePattern");
}

}  // namespace

std::optional<spec::Classification> ParseClassification(std::string_view text) {
  for (auto c : {spec::Classification::kPublic, spec::Classification::kInternal,
                 spec::Classification::kConfidential, spec::Classification::kRestricted}) {
    if (spec::ToString(c) == text) return c;
  }
  return std::nullopt;
}

std::optional<spec::MaskMethod> ParseMask(std::string_view text) {
  for (auto m : {spec::MaskMethod::kRedact, spec::MaskMethod::kHash, spec::MaskMethod::kTokenize,
                 spec::MaskMethod::kTruncate, spec::MaskMethod::kNull}) {
    if (spec::ToString(m) == text) return m;
  }
  return std::nullopt;
}

bool CompiledRule::AppliesTo(const spec::DataProduct& p) const {
  if (!domains.empty() && std::find(domains.begin(), domains.end(), p.domain) == domains.end()) {
    return false;
  }
  return classifications.empty() || std::find(classifications.begin(), classifications.end(),
                                              p.classification) != classifications.end();
}

PolicySet::PolicySet() = default;
PolicySet::~PolicySet() = default;

Result<std::shared_ptr<const PolicySet>> PolicySet::Build(
    const std::vector<spec::Policy>& policies) {
  std::shared_ptr<PolicySet> set(new PolicySet());
  std::vector<std::string> errors;
  std::map<std::string, const DefinedType*> seen;
  for (const spec::Policy& policy : policies) {
    for (const spec::GlobalType& t : policy.global_types) {
      set->types_.push_back(DefinedType{t, policy.name});
    }
    for (size_t i = 0; i < policy.rules.size(); ++i) {
      const spec::PolicyRule& rule = policy.rules[i];
      const std::string path = "spec.rules[" + std::to_string(i) + "]";
      auto c = std::make_unique<CompiledRule>();
      c->label =
          "policy '" + policy.name + "' rules[" + std::to_string(i) + "] (" + rule.kind + ")";
      c->pos = rule.pos;
      RuleReader r(rule, path, &errors);
      c->domains = r.Strings("domains");
      for (const std::string& s :
           r.Strings("classifications", {"public", "internal", "confidential", "restricted"})) {
        c->classifications.push_back(*ParseClassification(s));
      }
      if (const json* d = r.Get("description"); d != nullptr && !d->is_string()) {
        r.Error("description", "expected text");
      }
      if (rule.kind == "required_metadata") {
        c->kind = RuleKind::kRequiredMetadata;
        ReadRequiredMetadata(r, *c);
      } else if (rule.kind == "naming") {
        c->kind = RuleKind::kNaming;
        ReadNaming(r, *c);
      } else if (rule.kind == "classification_controls") {
        c->kind = RuleKind::kClassificationControls;
        ReadClassificationControls(r, *c);
      } else if (rule.kind == "envelope") {
        c->kind = RuleKind::kEnvelope;
        ReadEnvelope(r, *c);
      } else {
        r.Error("kind", "unknown rule kind '" + rule.kind + "'");
      }
      set->rules_.push_back(std::move(c));
    }
  }
  for (const DefinedType& t : set->types_) {
    auto [it, fresh] = seen.emplace(t.type.name, &t);
    if (!fresh) {
      errors.push_back(spec::Diagnostic{t.type.pos, "spec.globalTypes",
                                        "global type '" + t.type.name + "' of policy '" + t.policy +
                                            "' is already defined by policy '" +
                                            it->second->policy + "'"}
                           .ToString());
    }
  }
  if (!errors.empty()) {
    std::string all;
    for (const std::string& e : errors) all += (all.empty() ? "" : "\n") + e;
    return InvalidArgument(all);
  }
  return std::shared_ptr<const PolicySet>(std::move(set));
}

const DefinedType* PolicySet::FindType(std::string_view name) const {
  for (const DefinedType& t : types_) {
    if (t.type.name == name) return &t;
  }
  return nullptr;
}

}  // namespace loom::governance
