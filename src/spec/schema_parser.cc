// Parsing and validation of schemas: fields, types, nested structs and constraints.

#include <map>
#include <regex>

#include "spec/parsers.h"

namespace loom::spec::internal {
namespace {

bool IsNumeric(TypeKind k) {
  return k == TypeKind::kInt32 || k == TypeKind::kInt64 || k == TypeKind::kDouble ||
         k == TypeKind::kDecimal;
}

// The struct a type holds fields for: struct itself, or the innermost element of list<...>.
FieldType* StructOf(FieldType* t) {
  while (t->kind == TypeKind::kList && !t->element.empty()) t = &t->element[0];
  return t->kind == TypeKind::kStruct ? t : nullptr;
}

void ParseField(Context& ctx, const YAML::Node& node, const std::string& path, Field* f) {
  MapReader m(ctx, node, path,
              {"name", "type", "description", "required", "primaryKey", "pii", "mask", "globalType",
               "constraints", "fields"});
  if (!m.ok()) return;
  f->pos = ctx.Pos(node);
  if (m.String("name", &f->name, true)) {
    if (std::string problem = FieldNameProblem(f->name); !problem.empty()) {
      m.Error("name", "'" + f->name + "' is not a valid field name: " + problem);
    }
  }
  // A field of a global type may leave its type to the global type (resolved by governance/).
  f->inherits_type = !m.Has("type") && m.Has("globalType");
  const bool type_ok = !f->inherits_type && ParseTypeKey(m, &f->type);
  m.String("description", &f->description);
  m.Bool("required", &f->required);
  m.Bool("primaryKey", &f->primary_key);
  m.Bool("pii", &f->pii);

  if (type_ok) {
    FieldType* s = StructOf(&f->type);
    if (s != nullptr) {
      if (m.Has("fields")) {
        ParseFields(ctx, m.Get("fields"), m.PathOf("fields"), &s->fields);
      } else {
        ctx.Error(node, path,
                  "missing required key 'fields' (a struct lists its members under 'fields')");
      }
    } else if (m.Has("fields")) {
      m.Error("fields",
              "'fields' applies only to struct types (the type is " + f->type.ToString() + ")");
    }
  }

  if (f->primary_key) {
    if (m.Has("required") && !f->required) {
      m.Error("required", "a primary key field cannot be optional");
    }
    f->required = true;
    if (type_ok && (f->type.kind == TypeKind::kList || f->type.kind == TypeKind::kStruct)) {
      m.Error("primaryKey", "a " + f->type.ToString() + " field cannot be a primary key");
    }
  }

  if (m.Has("mask")) {
    const YAML::Node mask = m.Get("mask");
    static const std::vector<std::string_view> kMasks = {"redact", "hash", "tokenize", "truncate",
                                                         "null"};
    size_t i = 0;
    bool read = false;
    if (ctx.IsNullLiteral(mask)) {
      f->mask = MaskMethod::kNull;
      read = true;
    } else if (ReadEnum(ctx, mask, m.PathOf("mask"), kMasks, &i)) {
      f->mask = static_cast<MaskMethod>(i + 1);
      read = true;
    }
    f->mask_declared = read;
    if (read && !f->pii) {
      m.Error("mask", "mask applies only to pii fields (add 'pii: true')");
    } else if (read && f->mask == MaskMethod::kTruncate && type_ok &&
               f->type.kind != TypeKind::kString && f->type.kind != TypeKind::kDate &&
               f->type.kind != TypeKind::kTimestamp) {
      m.Error("mask", "truncate applies only to string, date and timestamp fields (the type is " +
                          f->type.ToString() + ")");
    }
  }
  if (f->pii && f->mask == MaskMethod::kNone) f->mask = MaskMethod::kRedact;

  if (m.Has("globalType")) {
    std::string g;
    if (m.String("globalType", &g)) {
      if (std::string problem = FieldNameProblem(g); !problem.empty()) {
        m.Error("globalType", "'" + g + "' is not a valid global type name: " + problem);
      } else {
        f->global_type = g;
      }
    }
  }
  if (m.Has("constraints")) {
    ParseConstraints(ctx, m.Get("constraints"), m.PathOf("constraints"), f->type, type_ok,
                     &f->constraints);
  }
}

}  // namespace

bool ParseTypeKey(MapReader& m, FieldType* out) {
  std::string text;
  if (!m.String("type", &text, true)) return false;
  Result<FieldType> t = ParseFieldType(text);
  if (!t.ok()) {
    m.Error("type", t.status().message());
    return false;
  }
  *out = std::move(*t);
  return true;
}

void ParseFields(Context& ctx, const YAML::Node& node, const std::string& path,
                 std::vector<Field>* out) {
  if (!IsList(ctx, node, path)) return;
  if (node.size() == 0) {
    ctx.Error(node, path, "needs at least one field");
    return;
  }
  std::map<std::string, int> first_line;
  for (size_t i = 0; i < node.size(); ++i) {
    Field f;
    const std::string item = path + "[" + std::to_string(i) + "]";
    ParseField(ctx, node[i], item, &f);
    if (!f.name.empty()) {
      auto [it, fresh] = first_line.emplace(f.name, f.pos.line);
      if (!fresh) {
        ctx.Error(node[i]["name"], item + ".name",
                  "duplicate field name '" + f.name + "' (first at line " +
                      std::to_string(it->second) + ")");
      }
    }
    out->push_back(std::move(f));
  }
}

void ParseConstraints(Context& ctx, const YAML::Node& node, const std::string& path,
                      const FieldType& type, bool type_known, Constraints* out) {
  MapReader m(ctx, node, path, {"enum", "pattern", "min", "max", "minLength", "maxLength"});
  if (!m.ok()) return;
  const std::string type_text = type.ToString();
  auto fits = [&](std::string_view key, bool ok, std::string_view what) {
    if (!m.Has(key) || !type_known || ok) return true;
    m.Error(key, std::string(key) + " applies only to " + std::string(what) + " (the type is " +
                     type_text + ")");
    return false;
  };
  const TypeKind k = type.kind;
  if (fits("enum", k == TypeKind::kString, "string fields") &&
      m.StringList("enum", &out->enum_values)) {
    if (out->enum_values.empty()) m.Error("enum", "needs at least one value");
    std::map<std::string, int> seen;
    const YAML::Node values = m.Get("enum");
    for (size_t i = 0; i < out->enum_values.size(); ++i) {
      if (!seen.emplace(out->enum_values[i], 0).second) {
        ctx.Error(values[i], m.PathOf("enum") + "[" + std::to_string(i) + "]",
                  "duplicate value '" + out->enum_values[i] + "'");
      }
    }
  }
  if (fits("pattern", k == TypeKind::kString, "string fields")) {
    std::string pattern;
    if (m.String("pattern", &pattern)) {
      try {
        std::regex re(pattern, std::regex::ECMAScript);
        out->pattern = pattern;
      } catch (const std::regex_error&) {
        m.Error("pattern", "'" + pattern + "' is not a valid ECMAScript regular expression");
      }
    }
  }
  const bool numeric = IsNumeric(k);
  double v = 0;
  if (fits("min", numeric, "numeric fields") && m.Number("min", &v)) out->minimum = v;
  if (fits("max", numeric, "numeric fields") && m.Number("max", &v)) out->maximum = v;
  if (out->minimum && out->maximum && *out->minimum > *out->maximum) {
    m.Error("max", "max must not be less than min");
  }
  const bool sized = k == TypeKind::kString || k == TypeKind::kList;
  int64_t n = 0;
  constexpr int64_t kMaxLen = int64_t{1} << 31;
  if (fits("minLength", sized, "string and list fields") && m.Int("minLength", &n, 0, kMaxLen)) {
    out->min_length = n;
  }
  if (fits("maxLength", sized, "string and list fields") && m.Int("maxLength", &n, 0, kMaxLen)) {
    out->max_length = n;
  }
  if (out->min_length && out->max_length && *out->min_length > *out->max_length) {
    m.Error("maxLength", "maxLength must not be less than minLength");
  }
}

const Field* FindField(const std::vector<Field>& fields, std::string_view path) {
  size_t dot = path.find('.');
  std::string_view head = path.substr(0, dot);
  for (const Field& f : fields) {
    if (f.name != head) continue;
    if (dot == std::string_view::npos) return &f;
    if (f.type.kind != TypeKind::kStruct) return nullptr;
    return FindField(f.type.fields, path.substr(dot + 1));
  }
  return nullptr;
}

}  // namespace loom::spec::internal
