#pragma once

// Internal to spec/: the parsers of each descriptor kind. Each reads a document's root map,
// reports every problem into the Context, and returns what it could read.

#include <string>
#include <vector>

#include "spec/reader.h"
#include "spec/spec.h"

namespace loom::spec::internal {

// The fields of a schema or a struct (`fields:`), with nested structs.
void ParseFields(Context& ctx, const YAML::Node& node, const std::string& path,
                 std::vector<Field>* out);
// `constraints:` of a field or a global type of `type`; `type_known` false skips fit checks.
void ParseConstraints(Context& ctx, const YAML::Node& node, const std::string& path,
                      const FieldType& type, bool type_known, Constraints* out);
// Reads `type:` of a map (a field or a global type). False if absent or invalid (reported).
bool ParseTypeKey(MapReader& m, FieldType* out);

// A field by name, "a" or a dotted path into structs, "device.os".
const Field* FindField(const std::vector<Field>& fields, std::string_view path);

// The bodies of the three kinds; `root` is the document's root map (apiVersion and kind done).
DataProduct ParseDataProduct(MapReader& root);
Domain ParseDomain(MapReader& root);
Policy ParsePolicy(MapReader& root);

// Parts of a product, in product_parts.cc.
void ParseOutputPorts(MapReader& spec, DataProduct* p);
void ParseInputPorts(MapReader& spec, DataProduct* p);
void ParseTransform(MapReader& spec, DataProduct* p);
void ParseSlos(MapReader& spec, DataProduct* p);
void ParseQuality(MapReader& spec, DataProduct* p);
void ParseAccess(MapReader& spec, DataProduct* p);
// A list of permissions (read | write | unmask), at least one, no repeats.
bool ParsePermissions(MapReader& m, std::string_view key, std::vector<Permission>* out);
// A principal value (user:NAME | group:NAME | service:NAME).
bool ParsePrincipal(MapReader& m, std::string_view key, std::string* out, bool required);

}  // namespace loom::spec::internal
