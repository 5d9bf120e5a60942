#pragma once

// Internal to governance/: a policy rule with its parameters checked and compiled (policy_set.cc
// builds them, evaluate.cc applies them). docs/governance.md lists every parameter.

#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "governance/governance.h"

namespace loom::governance {

// A regular expression with its text, for messages.
struct NamePattern {
  std::string text;
  std::regex re;
  bool Matches(const std::string& s) const { return std::regex_match(s, re); }
};

enum class RuleKind : uint8_t { kRequiredMetadata, kNaming, kClassificationControls, kEnvelope };

struct CompiledRule {
  RuleKind kind = RuleKind::kRequiredMetadata;
  std::string label;  // "policy 'standards' rules[1] (naming)"
  spec::SourcePos pos;
  std::vector<std::string> domains;                   // `domains:`; empty: every domain
  std::vector<spec::Classification> classifications;  // `classifications:`; empty: every one

  // required_metadata: `require:` title | description | owner | tags | slos | quality |
  // fieldDescriptions | portDescriptions
  std::vector<std::string> require;

  // naming: `products:`, `fields:`, `ports:`, `eventTypes:` patterns the names must match.
  std::optional<NamePattern> product_names, field_names, port_names;

  // classification_controls: `pii:` {mask: required, allowedMasks: [...], minClassification}
  bool pii_mask_required = false;
  std::vector<spec::MaskMethod> pii_allowed_masks;
  std::optional<spec::Classification> pii_min_classification;
  // `controls:` {CLASSIFICATION: [accessRule | rowFilter | noUnmask | explicitMasks | quality]}
  std::map<spec::Classification, std::vector<std::string>> controls;

  // envelope: stream ports must declare these.
  bool event_type_required = false;
  bool event_time_required = false;
  bool partition_key_required = false;
  std::optional<NamePattern> event_type_pattern;

  bool AppliesTo(const spec::DataProduct& p) const;
};

// Parsing of values shared by the rules and the evaluation.
std::optional<spec::Classification> ParseClassification(std::string_view text);
std::optional<spec::MaskMethod> ParseMask(std::string_view text);

}  // namespace loom::governance
