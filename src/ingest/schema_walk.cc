// CompiledSchema: compiling spec::Schema, and the on-demand walk over `data`.

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/clock.h"
#include "ingest/schema_validator.h"

namespace loom::ingest {

namespace sj = simdjson::ondemand;

namespace {

std::string FormatLimit(double d) {
  if (std::fabs(d) < 1e15 && d == std::floor(d)) return std::to_string(static_cast<int64_t>(d));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

std::string TypeName(const CompiledType& t) {
  switch (t.kind) {
    case spec::TypeKind::kString:
      return "string";
    case spec::TypeKind::kInt32:
      return "int32";
    case spec::TypeKind::kInt64:
      return "int64";
    case spec::TypeKind::kDouble:
      return "double";
    case spec::TypeKind::kDecimal:
      return "decimal(" + std::to_string(t.precision) + "," + std::to_string(t.scale) + ")";
    case spec::TypeKind::kBool:
      return "bool";
    case spec::TypeKind::kDate:
      return "date (YYYY-MM-DD)";
    case spec::TypeKind::kTimestamp:
      return "timestamp (RFC 3339)";
    case spec::TypeKind::kUuid:
      return "uuid";
    case spec::TypeKind::kList:
      return "list<" + TypeName(*t.element) + ">";
    case spec::TypeKind::kStruct:
      return "struct";
  }
  return "value";
}

Status CompileType(const spec::FieldType& in, CompiledType* out, int depth, int max_depth,
                   const std::string& where);

Status CompileFields(const std::vector<spec::Field>& in, std::vector<CompiledField>* out, int depth,
                     int max_depth, const std::string& where) {
  for (const spec::Field& f : in) {
    CompiledField c;
    c.name = f.name;
    c.json_member = ",\"" + f.name + "\":";
    c.required = f.required;
    c.type = std::make_unique<CompiledType>();
    std::string here = where.empty() ? f.name : where + "." + f.name;
    LOOM_RETURN_IF_ERROR(CompileType(f.type, c.type.get(), depth, max_depth, here));
    c.enum_values = f.constraints.enum_values;
    for (size_t i = 0; i < c.enum_values.size(); ++i)
      c.enum_list += (i ? ", " : "") + c.enum_values[i];
    if (f.constraints.pattern) {
      auto p = Pattern::Compile(*f.constraints.pattern);
      if (!p.ok()) return p.status().WithPrefix("schema field " + here);
      c.pattern = std::move(*p);
    }
    c.minimum = f.constraints.minimum;
    c.maximum = f.constraints.maximum;
    c.min_length = f.constraints.min_length;
    c.max_length = f.constraints.max_length;
    out->push_back(std::move(c));
  }
  return Status::Ok();
}

Status CompileType(const spec::FieldType& in, CompiledType* out, int depth, int max_depth,
                   const std::string& where) {
  // The envelope is one level, data another: a field at depth d nests d + 2 deep.
  if (depth + 2 > max_depth)
    return InvalidArgument("schema field " + where + " nests deeper than the limit of " +
                           std::to_string(max_depth));
  out->kind = in.kind;
  out->precision = in.precision;
  out->scale = in.scale;
  if (in.kind == spec::TypeKind::kList) {
    if (in.element.size() != 1)
      return InvalidArgument("schema field " + where + ": list without element type");
    out->element = std::make_unique<CompiledType>();
    return CompileType(in.element[0], out->element.get(), depth + 1, max_depth, where + "[]");
  }
  if (in.kind == spec::TypeKind::kStruct)
    return CompileFields(in.fields, &out->fields, depth + 1, max_depth, where);
  return Status::Ok();
}

// Checks a decimal literal's text: -?digits(.digits)? within precision and scale.
bool DecimalFits(std::string_view s, int precision, int scale, std::string* why) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
    if (frac_digits == 0) return *why = "malformed", false;
  }
  if (i != s.size() || int_digits == 0) return *why = "not a plain decimal literal", false;
  // Leading zeros do not count toward the precision.
  size_t lead = (s[0] == '-') ? 1 : 0;
  size_t significant = int_digits;
  while (significant > 1 && s[lead] == '0') ++lead, --significant;
  if (int_digits == 1 && s[lead] == '0') significant = 0;
  if (static_cast<int>(frac_digits) > scale) {
    *why =
        std::to_string(frac_digits) + " digits after the point, scale is " + std::to_string(scale);
    return false;
  }
  if (static_cast<int>(significant) > precision - scale) {
    *why = std::to_string(significant) + " digits before the point, at most " +
           std::to_string(precision - scale) + " fit";
    return false;
  }
  return true;
}

class Walker {
 public:
  Walker(std::string* out, DataCapture* capture, std::string* reason)
      : out_(out), capture_(capture), reason_(reason) {}

  WalkResult Object(sj::object obj, const std::vector<CompiledField>& fields, const PathNode& path,
                    bool top) {
    uint64_t seen_small[4] = {0, 0, 0, 0};
    std::vector<uint64_t> seen_big;
    uint64_t* seen = seen_small;
    if (fields.size() > 256) {
      seen_big.assign((fields.size() + 63) / 64, 0);
      seen = seen_big.data();
    }
    out_->push_back('{');
    bool first = true;
    size_t next = 0;
    for (auto item : obj) {
      // The field is used in place: moving it out of its result into a local made the compiler
      // store it in 8-byte halves and reload it in 16 (a store-forwarding stall per field).
      if (auto e = item.error(); e != simdjson::SUCCESS) return Syntax(path, e);
      sj::field&& f = std::move(item).value_unsafe();
      std::string_view key;
      if (auto e = FieldKey(f, &key); e != simdjson::SUCCESS) return Syntax(path, e);
      // Producers mostly send the fields in schema order: try the one after the last first.
      size_t idx = next;
      if (idx >= fields.size() || fields[idx].name != key) {
        idx = 0;
        while (idx < fields.size() && fields[idx].name != key) ++idx;
      }
      next = idx + 1;
      if (idx == fields.size()) {
        PathNode here{&path, key};
        return Invalid(here.ToString() + ": unknown field (not in the schema)");
      }
      const CompiledField& cf = fields[idx];
      PathNode here{&path, cf.name};
      if (seen[idx / 64] & (1ull << (idx % 64)))
        return Invalid(here.ToString() + ": duplicate field");
      sj::value& v = f.value();
      sj::json_type jt;
      if (auto e = v.type().get(jt); e != simdjson::SUCCESS) return Syntax(here, e);
      if (jt == sj::json_type::null) {
        if (cf.required) return Invalid(here.ToString() + ": required, got null");
        continue;  // null is absent: not stored
      }
      seen[idx / 64] |= 1ull << (idx % 64);
      // ,"name": (or "name": for the first) in one append.
      std::string_view member = cf.json_member;
      out_->append(first ? member.substr(1) : member);
      first = false;
      std::string_view scalar;
      WalkResult r = Value(v, jt, cf, *cf.type, here, false, &scalar);
      if (r != WalkResult::kOk) return r;
      if (top) {
        if (cf.key_slot >= 0) capture_->key_parts[cf.key_slot] = scalar;
        if (cf.is_event_time) {
          capture_->has_event_time = true;
          capture_->event_time = last_timestamp_;
        }
      }
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].required && !(seen[i / 64] & (1ull << (i % 64)))) {
        PathNode here{&path, fields[i].name};
        return Invalid(here.ToString() + ": required field missing");
      }
    }
    out_->push_back('}');
    return WalkResult::kOk;
  }

  WalkResult Value(sj::value& v, sj::json_type jt, const CompiledField& f, const CompiledType& t,
                   const PathNode& path, bool in_list, std::string_view* scalar) {
    using K = spec::TypeKind;
    auto mismatch = [&](std::string_view extra = {}) {
      std::string m = path.ToString() + ": expected " + TypeName(t) + ", got " + DescribeValue(v);
      if (!extra.empty()) m += " (" + std::string(extra) + ")";
      return Invalid(std::move(m));
    };
    switch (t.kind) {
      case K::kString:
      case K::kDate:
      case K::kTimestamp:
      case K::kUuid: {
        if (jt != sj::json_type::string) return mismatch();
        std::string_view raw = TrimRight(v.raw_json_token());
        std::string_view s;
        if (auto e = StringValue(v, raw, &s); e != simdjson::SUCCESS) return Syntax(path, e);
        if (t.kind == K::kDate && !IsDate(s)) return mismatch();
        if (t.kind == K::kUuid && !IsUuid(s)) return mismatch();
        if (t.kind == K::kTimestamp) {
          auto ts = ParseRfc3339(s);
          if (!ts.ok()) return mismatch();
          last_timestamp_ = *ts;
        }
        WalkResult r = StringRules(s, f, path, in_list);
        if (r != WalkResult::kOk) return r;
        out_->append(raw);
        *scalar = s;
        return WalkResult::kOk;
      }
      case K::kInt32:
      case K::kInt64:
      case K::kDouble: {
        if (jt != sj::json_type::number) return mismatch();
        std::string_view raw = TrimRight(v.raw_json_token());
        double d;
        if (t.kind == K::kDouble) {
          if (v.get_double().get(d) != simdjson::SUCCESS) return mismatch();
        } else {
          int64_t x;
          if (v.get_int64().get(x) != simdjson::SUCCESS) return mismatch();
          if (t.kind == K::kInt32 && (x < INT32_MIN || x > INT32_MAX))
            return mismatch("out of range");
          d = static_cast<double>(x);
        }
        WalkResult r = NumberRules(d, raw, f, path);
        if (r != WalkResult::kOk) return r;
        out_->append(raw);
        *scalar = raw;
        return WalkResult::kOk;
      }
      case K::kDecimal: {
        std::string_view raw = TrimRight(v.raw_json_token());
        std::string_view text = raw;
        if (jt == sj::json_type::string) {
          if (auto e = StringValue(v, raw, &text); e != simdjson::SUCCESS) return Syntax(path, e);
        } else if (jt != sj::json_type::number) {
          return mismatch();
        }
        std::string why;
        if (!DecimalFits(text, t.precision, t.scale, &why)) return mismatch(why);
        WalkResult r = NumberRules(std::strtod(std::string(text).c_str(), nullptr), text, f, path);
        if (r != WalkResult::kOk) return r;
        out_->append(raw);
        *scalar = text;
        return WalkResult::kOk;
      }
      case K::kBool: {
        bool b;
        if (jt != sj::json_type::boolean || v.get_bool().get(b) != simdjson::SUCCESS)
          return mismatch();
        out_->append(b ? "true" : "false");
        *scalar = b ? "true" : "false";
        return WalkResult::kOk;
      }
      case K::kList: {
        if (jt != sj::json_type::array) return mismatch();
        sj::array arr;
        if (auto e = v.get_array().get(arr); e != simdjson::SUCCESS) return Syntax(path, e);
        out_->push_back('[');
        int64_t n = 0;
        for (auto item : arr) {
          sj::value ev;
          PathNode here{&path, {}, n};
          if (auto e = std::move(item).get(ev); e != simdjson::SUCCESS) return Syntax(here, e);
          sj::json_type et;
          if (auto e = ev.type().get(et); e != simdjson::SUCCESS) return Syntax(here, e);
          if (n > 0) out_->push_back(',');
          std::string_view ignored;
          WalkResult r = Value(ev, et, f, *t.element, here, true, &ignored);
          if (r != WalkResult::kOk) return r;
          ++n;
        }
        out_->push_back(']');
        if (f.min_length && n < *f.min_length)
          return Invalid(path.ToString() + ": " + std::to_string(n) +
                         " items, fewer than minLength " + std::to_string(*f.min_length));
        if (f.max_length && n > *f.max_length)
          return Invalid(path.ToString() + ": " + std::to_string(n) +
                         " items, more than maxLength " + std::to_string(*f.max_length));
        *scalar = {};
        return WalkResult::kOk;
      }
      case K::kStruct: {
        if (jt != sj::json_type::object) return mismatch();
        sj::object obj;
        if (auto e = v.get_object().get(obj); e != simdjson::SUCCESS) return Syntax(path, e);
        *scalar = {};
        return Object(obj, t.fields, path, false);
      }
    }
    return mismatch();
  }

 private:
  WalkResult StringRules(std::string_view s, const CompiledField& f, const PathNode& path,
                         bool in_list) {
    if (!f.enum_values.empty()) {
      bool found = false;
      for (const std::string& e : f.enum_values) found = found || e == s;
      if (!found)
        return Invalid(path.ToString() + ": " + Quote(s) + " is not one of " + f.enum_list);
    }
    if (f.pattern && !f.pattern->Matches(s))
      return Invalid(path.ToString() + ": " + Quote(s) + " does not match pattern " +
                     Quote(f.pattern->text()));
    if (!in_list && (f.min_length || f.max_length)) {
      int64_t n = static_cast<int64_t>(Utf8Length(s));
      if (f.min_length && n < *f.min_length)
        return Invalid(path.ToString() + ": length " + std::to_string(n) + " is below minLength " +
                       std::to_string(*f.min_length));
      if (f.max_length && n > *f.max_length)
        return Invalid(path.ToString() + ": length " + std::to_string(n) + " is above maxLength " +
                       std::to_string(*f.max_length));
    }
    return WalkResult::kOk;
  }

  WalkResult NumberRules(double d, std::string_view raw, const CompiledField& f,
                         const PathNode& path) {
    if (f.minimum && d < *f.minimum)
      return Invalid(path.ToString() + ": " + std::string(raw) + " is below the minimum " +
                     FormatLimit(*f.minimum));
    if (f.maximum && d > *f.maximum)
      return Invalid(path.ToString() + ": " + std::string(raw) + " is above the maximum " +
                     FormatLimit(*f.maximum));
    return WalkResult::kOk;
  }

  WalkResult Invalid(std::string why) {
    *reason_ = std::move(why);
    return WalkResult::kInvalid;
  }
  WalkResult Syntax(const PathNode& path, simdjson::error_code e) {
    *reason_ = path.ToString() + ": JSON syntax error: " + simdjson::error_message(e);
    return WalkResult::kSyntax;
  }

  std::string* out_;
  DataCapture* capture_;
  std::string* reason_;
  int64_t last_timestamp_ = 0;
};

}  // namespace

Result<std::unique_ptr<CompiledSchema>> CompiledSchema::Compile(
    const spec::Schema& schema, const spec::StreamSettings& settings, int max_depth) {
  auto cs = std::make_unique<CompiledSchema>();
  cs->root_.kind = spec::TypeKind::kStruct;
  LOOM_RETURN_IF_ERROR(CompileFields(schema.fields, &cs->root_.fields, 0, max_depth, ""));
  for (size_t k = 0; k < settings.partition_key.size(); ++k) {
    bool found = false;
    for (CompiledField& f : cs->root_.fields) {
      if (f.name != settings.partition_key[k]) continue;
      if (f.type->kind == spec::TypeKind::kList || f.type->kind == spec::TypeKind::kStruct)
        return InvalidArgument("partition_key field '" + f.name + "' must be a scalar");
      f.key_slot = static_cast<int>(k);
      found = true;
    }
    if (!found)
      return InvalidArgument("partition_key names '" + settings.partition_key[k] +
                             "', which is not a top-level schema field");
  }
  cs->key_fields_ = settings.partition_key.size();
  if (settings.event_time) {
    bool found = false;
    for (CompiledField& f : cs->root_.fields) {
      if (f.name != *settings.event_time) continue;
      if (f.type->kind != spec::TypeKind::kTimestamp)
        return InvalidArgument("event_time field '" + f.name + "' must be a timestamp");
      f.is_event_time = true;
      found = true;
    }
    if (!found)
      return InvalidArgument("event_time names '" + *settings.event_time +
                             "', which is not a top-level schema field");
  }
  return cs;
}

WalkResult CompiledSchema::Walk(sj::value data, std::string* out, DataCapture* capture,
                                std::string* reason) const {
  PathNode root{nullptr, "data"};
  capture->key_parts.assign(key_fields_, std::string_view());
  capture->has_event_time = false;
  sj::json_type jt;
  if (auto e = data.type().get(jt); e != simdjson::SUCCESS) {
    *reason = std::string("data: JSON syntax error: ") + simdjson::error_message(e);
    return WalkResult::kSyntax;
  }
  if (jt != sj::json_type::object) {
    *reason = "data: expected object, got " + DescribeValue(data);
    return WalkResult::kInvalid;
  }
  sj::object obj;
  if (auto e = data.get_object().get(obj); e != simdjson::SUCCESS) {
    *reason = std::string("data: JSON syntax error: ") + simdjson::error_message(e);
    return WalkResult::kSyntax;
  }
  Walker w(out, capture, reason);
  return w.Object(obj, root_.fields, root, true);
}

}  // namespace loom::ingest
